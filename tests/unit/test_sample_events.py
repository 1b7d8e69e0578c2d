"""The sample events in events/ are the ones the local stack's portal accepts."""

from invoice_bridge.formdata import parse_php_form
from local.replay import webhook_bodies
from local.seed import APPLICATION_TOKEN, DEALS, PORTAL_MEMBER_ID, SMART_INVOICES


def test_every_seed_deal_has_a_sample_webhook_signed_with_the_local_token() -> None:
    forms = [parse_php_form(body.decode()) for _, body, _ in webhook_bodies()]
    assert {form["auth"]["application_token"] for form in forms} == {APPLICATION_TOKEN}
    assert {form["auth"]["member_id"] for form in forms} == {PORTAL_MEMBER_ID}
    deal_ids = {int(form["data"]["FIELDS"]["ID"]) for form in forms if form["event"].startswith("ONCRMDEAL")}
    invoice_ids = {int(form["data"]["FIELDS"]["ID"]) for form in forms if form["event"].startswith("ONCRMDYNAMICITEM")}
    assert invoice_ids == {invoice.id for invoice in SMART_INVOICES}
    assert deal_ids == {deal.id for deal in DEALS}
