"""The parsers against every Bitrix24 sample in ../shared/reference/bitrix24_samples (docs and SDK examples).

Events go through parse_php_form + BitrixWebhook + entity_type_of as form bodies (the docs render them as JSON
or PHP dumps; the transport is application/x-www-form-urlencoded). REST answers are served byte for byte by a
local HTTP server and read through Bitrix24Client, so envelopes, error codes and Decimal numbers are checked
the way the processor sees them. A sample that is neither covered here nor listed in NOT_USED fails a test.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from pydantic import ValidationError

from invoice_bridge.bitrix24.client import (
    BatchCommandError,
    BatchRef,
    Bitrix24Client,
    Bitrix24Error,
    _batch_errors,
    _error_code,
)
from invoice_bridge.bitrix24.records import DealRecord, ProductRecord, ProductRowRecord, RequisiteRecord
from invoice_bridge.events import BitrixWebhook, EntityType, entity_type_of
from invoice_bridge.formdata import parse_php_form

SAMPLES_DIR = Path(__file__).resolve().parents[3] / "shared" / "reference" / "bitrix24_samples"


# --- reading the samples -------------------------------------------------------------------------------------


def samples_dir() -> Path:
    if not SAMPLES_DIR.is_dir():
        pytest.fail(
            f"Bitrix24 samples folder not found at {SAMPLES_DIR}. The tests expect the shared reference beside "
            "the repository: <parent of the clone>/shared/reference/bitrix24_samples (../shared in CI).",
            pytrace=False,
        )
    return SAMPLES_DIR


def sample_bytes(name: str) -> bytes:
    path = samples_dir() / name
    if not path.is_file():
        pytest.fail(f"Bitrix24 sample {name} is missing from {SAMPLES_DIR}", pytrace=False)
    return path.read_bytes()


def sample_text(name: str) -> str:
    return sample_bytes(name).decode("utf-8")


def sample_json(name: str) -> Any:
    return json.loads(sample_text(name), parse_float=Decimal)


# --- events --------------------------------------------------------------------------------------------------


def form_body(tree: Mapping[str, Any]) -> str:
    """What PHP's http_build_query makes of a nested array: `data[FIELDS][ID]=7`, brackets percent-encoded."""
    pairs: list[tuple[str, str]] = []

    def add(key: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for inner_key, inner in value.items():
                add(f"{key}[{inner_key}]", inner)
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                add(f"{key}[{index}]", inner)
        elif isinstance(value, bool):
            pairs.append((key, "1" if value else "0"))
        elif value is not None:  # http_build_query drops nulls
            pairs.append((key, str(value)))

    for key, value in tree.items():
        add(key, value)
    return urlencode(pairs)


@dataclass(frozen=True)
class ExpectedEvent:
    event: str
    entity_id: int
    ts: int
    member_id: str
    entity_type: EntityType | None
    entity_type_id: int | None = None
    application_token: str = ""


def check_webhook(form: dict[str, Any], expected: ExpectedEvent) -> BitrixWebhook:
    webhook = BitrixWebhook.model_validate(form)
    assert webhook.event == expected.event
    assert webhook.data.FIELDS.ID == expected.entity_id
    assert webhook.data.FIELDS.ENTITY_TYPE_ID == expected.entity_type_id
    assert webhook.ts == expected.ts
    assert webhook.auth.member_id == expected.member_id
    if expected.application_token:
        assert webhook.auth.application_token == expected.application_token
    assert entity_type_of(webhook) == expected.entity_type
    return webhook


_DOCS_MEMBER = "a223c6b3710f85df22e9377d6c4f7553"
_DOCS_TOKEN = "51856fefc120afa4b628cc82d3935cce"

EVENT_JSON_SAMPLES: dict[str, ExpectedEvent] = {
    "event_app_ONCRMDEALADD.docs.json": ExpectedEvent(
        "ONCRMDEALADD", 7405, 1766047124, "d897063e1ce7c5eb9f04b9751eef5915", EntityType.DEAL, None, _DOCS_TOKEN
    ),
    "event_app_ONCRMDEALADD_2.docs.json": ExpectedEvent(
        "ONCRMDEALADD", 6641, 1735374081, _DOCS_MEMBER, EntityType.DEAL, None, _DOCS_TOKEN
    ),
    "event_app_ONCRMDEALUPDATE.docs.json": ExpectedEvent(
        "ONCRMDEALUPDATE", 759, 1736405807, _DOCS_MEMBER, EntityType.DEAL, None, _DOCS_TOKEN
    ),
    # ENTITY_TYPE_ID 1220 is a smart process, not an invoice (31): ignored.
    "event_app_ONCRMDYNAMICITEMADD.docs.json": ExpectedEvent(
        "ONCRMDYNAMICITEMADD", 22, 1723534033, _DOCS_MEMBER, None, 1220, _DOCS_TOKEN
    ),
    "event_app_ONCRMDYNAMICITEMUPDATE.docs.json": ExpectedEvent(
        "ONCRMDYNAMICITEMUPDATE", 24, 1723538517, _DOCS_MEMBER, None, 1220, _DOCS_TOKEN
    ),
    "event_outgoing_webhook_ONCRMDEALADD.docs.json": ExpectedEvent(
        "ONCRMDEALADD",
        7405,
        1766047124,
        "d897063e1ce7c5eb9f04b9751eef5915",
        EntityType.DEAL,
        None,
        "jvh9y1ulvt2m6k5or90v9mg8nn32ozas",
    ),
}

EVENT_FORM_SAMPLES: dict[str, ExpectedEvent] = {
    "event_app_ONCRMCONTACTADD.form-urlencoded.b24phpsdk.txt": ExpectedEvent(
        "ONCRMCONTACTADD",
        134806,
        1727018926,
        "010b6886ebc205e43ae65000ee00addb",
        None,
        None,
        "3c6c9248ec54af6bea1159b43ee0ab32",
    ),
    "event_outgoing_webhook_ONCRMDEALADD.form-urlencoded.DERIVED.txt": ExpectedEvent(
        "ONCRMDEALADD",
        7405,
        1766047124,
        "d897063e1ce7c5eb9f04b9751eef5915",
        EntityType.DEAL,
        None,
        "jvh9y1ulvt2m6k5or90v9mg8nn32ozas",
    ),
}


@dataclass(frozen=True)
class TranscribedEvent:
    """A PHP dump (print_r / var_export / array literal) copied by hand into the array PHP would have received."""

    tree: dict[str, Any]
    expected: ExpectedEvent


TRANSCRIBED_EVENTS: dict[str, TranscribedEvent] = {
    "event_app_ONCRMCONTACTADD.phparray.b24phpsdk.txt": TranscribedEvent(
        {
            "event": "ONCRMCONTACTADD",
            "event_handler_id": "196",
            "data": {"FIELDS": {"ID": "264442"}},
            "ts": "1762089975",
            "auth": {
                "access_token": "076a0769007d83b20058f18a0000000100000694f171445612e564746d04afebba973e",
                "expires": "1762093575",
                "expires_in": "3600",
                "scope": "crm,placement,user_brief,pull,userfieldconfig",
                "domain": "bitrix24-php-sdk-playground.bitrix24.ru",
                "server_endpoint": "https://oauth.bitrix24.tech/rest/",
                "status": "L",
                "client_endpoint": "https://bitrix24-php-sdk-playground.bitrix24.com/rest/",
                "member_id": "010b6886ebc205e43ae65000ee00addb",
                "user_id": "1",
                "application_token": "e24831714bb347622e3ef25af61525cf",
            },
        },
        ExpectedEvent(
            "ONCRMCONTACTADD",
            264442,
            1762089975,
            "010b6886ebc205e43ae65000ee00addb",
            None,
            None,
            "e24831714bb347622e3ef25af61525cf",
        ),
    ),
    "event_outgoing_webhook_ONCRMDEALUPDATE.print_r.docs.txt": TranscribedEvent(
        {
            "event": "ONCRMDEALUPDATE",
            "data": {"FIELDS": {"ID": "662"}},
            "ts": "1724140800",
            "auth": {
                "domain": "example.bitrix24.com",
                "member_id": "x" * 32,
                "application_token": "x" * 32,
            },
        },
        ExpectedEvent("ONCRMDEALUPDATE", 662, 1724140800, "x" * 32, EntityType.DEAL, None, "x" * 32),
    ),
}

ONAPPTEST_SAMPLE = "event_app_ONAPPTEST.var_export.docs.txt"


def _leaves(tree: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for key, value in tree.items():
        if isinstance(value, Mapping):
            yield from _leaves(value)
        else:
            yield key, str(value)


def assert_transcription_matches(name: str, tree: Mapping[str, Any]) -> None:
    """Every transcribed leaf appears in the dump as `'key' => 'value'`, `'key' => value` or `[key] => value`."""
    text = sample_text(name)
    for key, value in _leaves(tree):
        renderings = (f"'{key}' => '{value}'", f"'{key}' => {value}", f"[{key}] => {value}")
        assert any(r in text for r in renderings), f"{name}: {key} = {value!r} is not in the dump"


@pytest.mark.parametrize("name", sorted(EVENT_JSON_SAMPLES))
def test_json_event_sample_parses_once_form_encoded(name: str) -> None:
    tree = sample_json(name)
    form = parse_php_form(form_body(tree))
    assert form == tree  # every value of a webhook arrives as a string
    check_webhook(form, EVENT_JSON_SAMPLES[name])


@pytest.mark.parametrize(
    "name", ["event_app_ONCRMDYNAMICITEMADD.docs.json", "event_app_ONCRMDYNAMICITEMUPDATE.docs.json"]
)
def test_dynamic_item_event_for_a_new_invoice_is_an_invoice(name: str) -> None:
    tree = sample_json(name)
    tree["data"]["FIELDS"]["ENTITY_TYPE_ID"] = "31"  # the same event fires for new invoices (entityTypeId 31)
    webhook = BitrixWebhook.model_validate(parse_php_form(form_body(tree)))
    assert entity_type_of(webhook) == EntityType.INVOICE
    assert webhook.data.FIELDS.ID == EVENT_JSON_SAMPLES[name].entity_id


@pytest.mark.parametrize("name", sorted(EVENT_FORM_SAMPLES))
def test_raw_form_event_sample_parses(name: str) -> None:
    raw = sample_text(name).strip()
    form = parse_php_form(raw)
    check_webhook(form, EVENT_FORM_SAMPLES[name])
    assert form_body(form) == raw  # the test's encoder writes what Bitrix24 writes


def test_real_form_sample_keeps_oauth_fields_and_decodes_percent_escapes() -> None:
    form = parse_php_form(sample_text("event_app_ONCRMCONTACTADD.form-urlencoded.b24phpsdk.txt").strip())
    assert form["event_handler_id"] == "58"
    assert form["auth"]["scope"] == "crm,placement,user_brief"
    assert form["auth"]["client_endpoint"] == "https://bitrix24-php-sdk-playground.bitrix24.com/rest/"
    assert form["auth"]["domain"] == "bitrix24-php-sdk-playground.bitrix24.com"
    assert form["auth"]["user_id"] == "1"


def test_derived_form_sample_is_the_docs_json_form_encoded() -> None:
    derived = sample_text("event_outgoing_webhook_ONCRMDEALADD.form-urlencoded.DERIVED.txt").strip()
    docs = sample_json("event_outgoing_webhook_ONCRMDEALADD.docs.json")
    assert parse_php_form(derived) == docs
    assert form_body(docs) == derived


@pytest.mark.parametrize("name", sorted(TRANSCRIBED_EVENTS))
def test_php_dump_event_sample_parses_once_transcribed(name: str) -> None:
    sample = TRANSCRIBED_EVENTS[name]
    assert_transcription_matches(name, sample.tree)
    form = parse_php_form(form_body(sample.tree))
    assert form == sample.tree
    check_webhook(form, sample.expected)


def test_onapptest_event_is_parsed_but_is_not_a_webhook_of_an_entity() -> None:
    # event.test's ONAPPTEST carries data[QUERY] instead of data[FIELDS][ID]; the docs elide auth as (...).
    tree: dict[str, Any] = {
        "event": "ONAPPTEST",
        "event_handler_id": "1",
        "data": {"QUERY": {"any": "data"}, "LANGUAGE_ID": "en"},
        "ts": "1573120286",
    }
    assert_transcription_matches(ONAPPTEST_SAMPLE, tree)
    form = parse_php_form(form_body(tree))
    assert form == tree
    with pytest.raises(ValidationError) as caught:
        BitrixWebhook.model_validate(form)
    missing = {error["loc"] for error in caught.value.errors()}
    assert ("data", "FIELDS") in missing
    assert ("auth",) in missing


# --- REST answers through the client -------------------------------------------------------------------------


class FakePortal(ThreadingHTTPServer):
    """Answers every POST with one canned body and status, and remembers what was asked."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _PortalHandler)
        self.status = 200
        self.body = b"{}"
        self.received: list[tuple[str, Any]] = []
        self.lock = threading.Lock()

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/rest/1/samplecode/"

    def answer(self, body: bytes, status: int) -> None:
        with self.lock:
            self.body, self.status = body, status

    def client(self) -> Bitrix24Client:
        return Bitrix24Client(self.webhook_url, timeout=5)


class _PortalHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        portal = self.server
        assert isinstance(portal, FakePortal)
        length = int(self.headers.get("Content-Length") or 0)
        sent = json.loads(self.rfile.read(length) or b"null")
        with portal.lock:
            portal.received.append((self.path, sent))
            body, status = portal.body, portal.status
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def portal() -> Iterator[FakePortal]:
    server = FakePortal()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def call_with_sample(portal: FakePortal, name: str, method: str, params: Mapping[str, Any] | None = None) -> Any:
    portal.answer(sample_bytes(name), 200)
    result = portal.client().call(method, params)
    assert portal.received[-1][0] == f"/rest/1/samplecode/{method}"
    assert result == sample_json(name)["result"]
    return result


# Records the processor builds from method answers.

DEAL_SAMPLE = "crm.deal.get.response.docs.json"
ROWS_SAMPLE = "crm.deal.productrows.get.response.docs.json"
REQUISITES_SAMPLE = "crm.requisite.list.response.docs.json"
PRODUCT_SAMPLE = "catalog.product.get.response.docs.json"


def test_deal_record_from_crm_deal_get(portal: FakePortal) -> None:
    deal = DealRecord.model_validate(call_with_sample(portal, DEAL_SAMPLE, "crm.deal.get", {"id": 410}))
    assert deal.ID == 410
    assert deal.TITLE == "New Deal #1"
    assert deal.STAGE_ID == "PREPARATION"
    assert deal.STAGE_SEMANTIC_ID == "P"
    assert deal.CATEGORY_ID == 0
    assert deal.CURRENCY_ID == "EUR"
    assert deal.OPPORTUNITY == Decimal("1000000.00")
    assert deal.manual_opportunity
    assert deal.TAX_VALUE == Decimal("0.00")
    assert deal.COMPANY_ID == 9
    assert deal.CONTACT_ID == 84
    assert deal.DATE_MODIFY == "2024-08-30T14:29:00+02:00"
    assert portal.received[-1][1] == {"id": 410}


def test_product_row_records_from_crm_deal_productrows_get_keep_decimals_exact(portal: FakePortal) -> None:
    raw = call_with_sample(portal, ROWS_SAMPLE, "crm.deal.productrows.get", {"id": 5})
    assert isinstance(raw[0]["PRICE"], Decimal)  # parse_float=Decimal, never a float
    assert isinstance(raw[0]["DISCOUNT_SUM"], Decimal)
    first, second = (ProductRowRecord.model_validate(row) for row in raw)

    assert first.ID == 5
    assert first.PRODUCT_ID == 450
    assert first.PRODUCT_NAME == "Product #2"
    assert first.PRICE == Decimal("899.1")
    assert str(first.PRICE) == "899.1"
    assert first.PRICE_EXCLUSIVE == Decimal("899.1")
    assert first.QUANTITY == Decimal(1)
    assert first.TAX_RATE is None
    assert first.tax_included
    assert first.DISCOUNT_RATE == Decimal(10)
    assert first.MEASURE_NAME == "pcs"
    assert first.SORT == 10

    assert second.ID == 4
    assert second.PRODUCT_ID == 449
    assert second.PRICE == Decimal(100)
    assert second.DISCOUNT_RATE == Decimal(0)
    assert second.SORT == 20


def test_requisite_records_from_crm_requisite_list(portal: FakePortal) -> None:
    raw = call_with_sample(
        portal, REQUISITES_SAMPLE, "crm.requisite.list", {"filter": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": 3027}}
    )
    requisites = [RequisiteRecord.model_validate(row) for row in raw]
    assert [r.ID for r in requisites] == [40, 41, 42]
    assert {r.ENTITY_TYPE_ID for r in requisites} == {4}
    assert [r.ENTITY_ID for r in requisites] == [3027, 3028, 3028]
    assert requisites[2].NAME == "Branch in Chernyakhovsk"
    assert requisites[0].RQ_INN == ""
    assert requisites[0].display_name == "Organization"  # no RQ_* fields selected: falls back to NAME


def test_product_record_from_catalog_product_get(portal: FakePortal) -> None:
    raw = call_with_sample(portal, PRODUCT_SAMPLE, "catalog.product.get", {"id": 1243})
    product = ProductRecord.model_validate(raw["product"])
    assert product.id == 1243
    assert product.name == "Product"
    assert product.xmlId == "1243"
    assert raw["product"]["purchasingPrice"] == "1000.000000"


# Methods whose answers the bridge reads (or writes with) without a record: the envelope must come through whole.

SUCCESS_ENVELOPES: dict[str, tuple[str, tuple[str | int, ...], Any]] = {
    "crm.requisite.link.get.response.docs.json": ("crm.requisite.link.get", ("REQUISITE_ID",), "60"),
    "crm.timeline.comment.add.response.docs.json": ("crm.timeline.comment.add", (), 999),
    "crm.deal.update.response.docs.json": ("crm.deal.update", (), True),
    "crm.company.get.response.docs.json": ("crm.company.get", ("TITLE",), "GAZPROM"),
    "crm.item.get.response.lead.docs.json": ("crm.item.get", ("item", "opportunity"), Decimal("999.9")),
    "crm.item.productrow.list.response.docs.json": (
        "crm.item.productrow.list",
        ("productRows", 0, "priceExclusive"),
        Decimal("81818.18"),
    ),
    "crm.address.list.response.docs.json": ("crm.address.list", (0, "TYPE_ID"), "1"),
}


@pytest.mark.parametrize("name", sorted(SUCCESS_ENVELOPES))
def test_success_envelope_yields_its_result(portal: FakePortal, name: str) -> None:
    method, path, expected = SUCCESS_ENVELOPES[name]
    value = call_with_sample(portal, name, method)
    for part in path:
        value = value[part]
    assert value == expected
    assert type(value) is type(expected)  # Decimal stays Decimal, True stays a bool, 999 an int
    assert len(portal.received) == 1


STATUS_ENTITY_TYPES_SAMPLE = "crm.status.entity.types.response.docs.txt"


def test_crm_status_entity_types_once_the_docs_trailing_comma_is_dropped(portal: FakePortal) -> None:
    fixed = re.sub(r",(\s*[\]}])", r"\1", sample_text(STATUS_ENTITY_TYPES_SAMPLE))
    portal.answer(fixed.encode(), 200)
    types = {entry["ID"]: entry for entry in portal.client().call("crm.status.entity.types")}
    assert types["DEAL_STAGE"]["SEMANTIC_INFO"]["FINAL_SUCCESS_FIELD"] == "WON"
    assert types["DEAL_STAGE_1"]["SEMANTIC_INFO"]["FINAL_SUCCESS_FIELD"] == "C1:WON"
    assert types["DEAL_STAGE_1"]["PREFIX"] == "C1"
    assert types["SMART_INVOICE_STAGE_5"]["PREFIX"] == "DT31_5"
    assert types["SMART_INVOICE_STAGE_5"]["ENTITY_TYPE_ID"] == 31


# Error envelopes: (method, HTTP status served, expected code, expected description).

ERROR_ENVELOPES: dict[str, tuple[str, int, str, str]] = {
    "crm.deal.get.error.docs.json": ("crm.deal.get", 400, "", "Parameter 'fields' must be array."),
    "crm.deal.productrows.get.error.docs.json": (
        "crm.deal.productrows.get",
        400,
        "",
        "The parameter id is invalid or not defined.",
    ),
    "catalog.product.get.error.docs.json": ("catalog.product.get", 400, "200040300010", "Access Denied"),
    "crm.item.get.error.docs.json": ("crm.item.get", 400, "NOT_FOUND", "Element not found"),
    "crm.requisite.list.error.docs.json": ("crm.requisite.list", 400, "0", "Access denied."),
    "error_generic.docs.json": ("crm.deal.get", 401, "ERROR_HANDLER_ALREADY_EXIST", "Handler already exists!"),
}


@pytest.mark.parametrize("name", sorted(ERROR_ENVELOPES))
def test_error_envelope_raises_a_permanent_bitrix24_error(portal: FakePortal, name: str) -> None:
    method, status, code, description = ERROR_ENVELOPES[name]
    portal.answer(sample_bytes(name), status)
    with pytest.raises(Bitrix24Error) as caught:
        portal.client().call(method, {"id": 1})
    error = caught.value
    assert (error.method, error.status, error.code, error.description) == (method, status, code, description)
    assert not error.transient
    assert error.reset_at is None
    assert description in str(error)
    assert len(portal.received) == 1  # 4xx is never retried, not even for reads


@pytest.mark.parametrize("name", sorted(ERROR_ENVELOPES))
def test_error_body_is_an_error_even_with_status_200(portal: FakePortal, name: str) -> None:
    method, _, code, description = ERROR_ENVELOPES[name]
    portal.answer(sample_bytes(name), 200)
    with pytest.raises(Bitrix24Error) as caught:
        portal.client().call(method)
    assert (caught.value.status, caught.value.code, caught.value.description) == (200, code, description)
    assert not caught.value.transient


@pytest.mark.parametrize("name", sorted(ERROR_ENVELOPES))
def test_error_code_reads_string_empty_and_integer_codes(name: str) -> None:
    assert _error_code(sample_json(name)["error"]) == ERROR_ENVELOPES[name][2]


def test_error_code_of_a_missing_code_is_empty() -> None:
    assert _error_code(None) == ""


TIME_SAMPLE = "time_object_operating.docs.txt"


def test_operation_time_limit_carries_operating_reset_at_from_the_time_object(portal: FakePortal) -> None:
    # The docs elide the rest of the answer with "..."; put a 429 OPERATION_TIME_LIMIT error in its place.
    lines = [line for line in sample_text(TIME_SAMPLE).splitlines() if line.strip() != "..."]
    answer = json.loads("\n".join(lines), parse_float=Decimal)
    assert answer["time"]["operating"] == Decimal("3.3076241016387939")
    answer = {"error": "OPERATION_TIME_LIMIT", "error_description": "Method is blocked", **answer}
    portal.answer(json.dumps(answer, default=str).encode(), 429)
    client = portal.client()
    client.remaining_seconds = lambda: 0.0  # no time left to wait the limit out: raise at once
    with pytest.raises(Bitrix24Error) as caught:
        client.call("crm.deal.get", {"id": 1})
    error = caught.value
    assert (error.status, error.code) == (429, "OPERATION_TIME_LIMIT")
    assert error.reset_at == 1778747792.0
    assert error.transient
    assert len(portal.received) == 1


# Batch answers.

BATCH_SUCCESS = "batch_response_success.docs.json"
BATCH_HALT0 = "batch_response_error_halt0.docs.json"
BATCH_HALT1 = "batch_response_error_halt1.docs.json"
BATCH_SAMPLES = (BATCH_SUCCESS, BATCH_HALT0, BATCH_HALT1)

_BATCH_COMMANDS: dict[str, tuple[str, Mapping[str, Any]]] = {
    "get_user": ("user.get", {"ID": 1}),
    "get_department": ("department.get", {"ID": BatchRef("get_user", ("UF_DEPARTMENT", 0))}),
}


def test_batch_success_yields_every_result_and_no_errors(portal: FakePortal) -> None:
    portal.answer(sample_bytes(BATCH_SUCCESS), 200)
    result = portal.client().batch(_BATCH_COMMANDS)
    assert result.errors == {}  # result_error came as []
    assert result.results == sample_json(BATCH_SUCCESS)["result"]["result"]
    assert result.results["get_user"]["UF_DEPARTMENT"] == [1]
    assert result.results["get_department"] == [{"ID": "1", "NAME": "DEMO", "SORT": 500}]
    path, sent = portal.received[-1]
    assert path == "/rest/1/samplecode/batch"
    assert sent == {
        "halt": 0,
        "cmd": {"get_user": "user.get?ID=1", "get_department": "department.get?ID=$result[get_user][UF_DEPARTMENT][0]"},
    }


def test_batch_halt0_errors_come_as_a_dict_keyed_by_command(portal: FakePortal) -> None:
    portal.answer(sample_bytes(BATCH_HALT0), 200)
    result = portal.client().batch(_BATCH_COMMANDS)
    assert result.results == {}  # result came as []
    denied = BatchCommandError("insufficient_scope", "")
    assert result.errors == {"get_user": denied, "get_department": denied}
    assert portal.received[-1][1]["halt"] == 0


def test_batch_halt1_stops_at_the_first_error(portal: FakePortal) -> None:
    portal.answer(sample_bytes(BATCH_HALT1), 200)
    result = portal.client().batch(_BATCH_COMMANDS, halt=True)
    assert result.results == {}
    assert result.errors == {"get_user": BatchCommandError("insufficient_scope", "")}
    assert "get_department" not in result.results  # never ran: neither a result nor an error
    assert portal.received[-1][1]["halt"] == 1


@pytest.mark.parametrize("name", [BATCH_HALT0, BATCH_HALT1])
def test_batch_errors_read_the_same_as_a_dict_or_as_a_bare_list(name: str) -> None:
    raw = sample_json(name)["result"]["result_error"]
    assert isinstance(raw, dict)
    unanswered = list(_BATCH_COMMANDS)
    as_dict = _batch_errors(raw, unanswered)
    assert set(as_dict) == set(raw)
    assert all(error == BatchCommandError("insufficient_scope", "") for error in as_dict.values())
    assert _batch_errors(list(raw.values()), unanswered) == as_dict


def test_batch_errors_of_an_empty_list_are_none() -> None:
    assert _batch_errors(sample_json(BATCH_SUCCESS)["result"]["result_error"], []) == {}


# --- every sample is accounted for ---------------------------------------------------------------------------

NOT_USED: dict[str, str] = {
    "crm.enum.addresstype.response.docs.json": "the bridge never calls crm.enum.addresstype; the sample only "
    "documents crm.address.list TYPE_ID values (6 = legal, 1 = physical)",
    "event.bind.response.docs.json": "the bridge never calls event.bind: the outgoing webhook is set up in the "
    "portal's UI (README, Bitrix24 setup)",
    "event.bind.error.docs.json": "the bridge never calls event.bind (see event.bind.response.docs.json)",
}

COVERED: frozenset[str] = frozenset(
    {
        *EVENT_JSON_SAMPLES,
        *EVENT_FORM_SAMPLES,
        *TRANSCRIBED_EVENTS,
        ONAPPTEST_SAMPLE,
        DEAL_SAMPLE,
        ROWS_SAMPLE,
        REQUISITES_SAMPLE,
        PRODUCT_SAMPLE,
        *SUCCESS_ENVELOPES,
        STATUS_ENTITY_TYPES_SAMPLE,
        *ERROR_ENVELOPES,
        TIME_SAMPLE,
        *BATCH_SAMPLES,
    }
)


def test_every_sample_is_covered_or_listed_as_not_used() -> None:
    samples = {path.name for path in samples_dir().iterdir() if path.is_file() and not path.name.endswith(".src.txt")}
    assert not COVERED & NOT_USED.keys(), "a sample is both covered and listed in NOT_USED"
    unaccounted = sorted(samples - COVERED - NOT_USED.keys())
    assert not unaccounted, f"samples no test reads; cover them here or add them to NOT_USED: {unaccounted}"
    stale = sorted((COVERED | NOT_USED.keys()) - samples)
    assert not stale, f"samples named here but missing from {SAMPLES_DIR}: {stale}"


def test_every_sample_says_where_it_comes_from() -> None:
    for path in samples_dir().iterdir():
        if not path.is_file() or path.name.endswith(".src.txt"):
            continue
        sibling = path.with_suffix(".src.txt")
        inline = path.read_text(encoding="utf-8").startswith("// source:")
        assert sibling.is_file() or inline, f"{path.name} has neither {sibling.name} nor a '// source:' header"
