"""The sample events in events/ are the ones the local stack's two portals accept."""

from invoice_bridge.formdata import parse_php_form
from local.runners.replay import webhook_bodies
from local.seed import (
    APPLICATION_TOKEN,
    DEALS,
    PORTAL_B_APPLICATION_TOKEN,
    PORTAL_B_DEALS,
    PORTAL_B_DOMAIN,
    PORTAL_B_MEMBER_ID,
    PORTAL_DOMAIN,
    PORTAL_MEMBER_ID,
    SMART_INVOICES,
)

PORTALS = {
    PORTAL_MEMBER_ID: (PORTAL_DOMAIN, APPLICATION_TOKEN),
    PORTAL_B_MEMBER_ID: (PORTAL_B_DOMAIN, PORTAL_B_APPLICATION_TOKEN),
}


def test_every_seed_deal_of_both_portals_has_a_sample_webhook_signed_with_its_portals_token() -> None:
    forms = [parse_php_form(body.decode()) for _, body, _ in webhook_bodies()]
    for form in forms:
        auth = form["auth"]
        assert PORTALS[auth["member_id"]] == (auth["domain"], auth["application_token"])
    by_portal: dict[str, list[dict[str, object]]] = {member_id: [] for member_id in PORTALS}
    for form in forms:
        by_portal[form["auth"]["member_id"]].append(form)

    def ids(member_id: str, prefix: str) -> set[int]:
        return {
            int(form["data"]["FIELDS"]["ID"])  # type: ignore[index]
            for form in by_portal[member_id]
            if str(form["event"]).startswith(prefix)
        }

    assert ids(PORTAL_MEMBER_ID, "ONCRMDYNAMICITEM") == {invoice.id for invoice in SMART_INVOICES}
    assert ids(PORTAL_MEMBER_ID, "ONCRMDEAL") == {deal.id for deal in DEALS}
    assert ids(PORTAL_B_MEMBER_ID, "ONCRMDEAL") == {deal.id for deal in PORTAL_B_DEALS}
    assert ids(PORTAL_B_MEMBER_ID, "ONCRMDEAL") & ids(PORTAL_MEMBER_ID, "ONCRMDEAL")  # the ids overlap
