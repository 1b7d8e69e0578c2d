"""`invoice-bridge-doctor` (also `make doctor`): finds set-up mistakes before the first deal does.

With `--stack NAME` it reports the deployed processor's network path to 1C (in a VPC or not) and whether 1C
answers the processor from there (invoice_bridge.network_probe).

Checks the secret (and shows the pin of a first-release single-portal secret), then for each portal 1C
(reachable, credentials, the entity sets the document kind needs, the VAT rates, the organisation) and Bitrix24
(the webhook answers, has the crm scope, the trigger stages exist). Prints one line a check and exits non-zero
when anything needs fixing.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import boto3
from botocore.exceptions import ClientError
from pydantic import ValidationError

from invoice_bridge.aws import dynamodb_client
from invoice_bridge.bitrix24.client import Bitrix24Client, Bitrix24Error
from invoice_bridge.config import ProcessorSettings
from invoice_bridge.ledger.portal_pin import PortalPin, PortalPinStore
from invoice_bridge.onec.catalogs import CatalogResolver, OnecSetupError, ReferenceNotFound
from invoice_bridge.onec.client import ODataClient, ODataError
from invoice_bridge.onec.documents import PROFILES, BuyerInvoiceProfile
from invoice_bridge.onec.posting import (
    GOODS_LINE_ACCOUNTS,
    SALE_HEADER_ACCOUNTS,
    PostingDefaults,
    PostingSetupMissing,
)
from invoice_bridge.onec.schema import MetadataError, OnecSchema, parse_metadata
from invoice_bridge.portals import configured_portals
from invoice_bridge.secret import BridgeSecret, OnecConnection, SecretConfigurationError, load_secret
from invoice_bridge.status_sync.setup_checks import status_sync_checks

# The rates a Russian seller's deals use in 2026; НДС5/НДС7 only matter for simplified-tax sellers.
REQUIRED_VAT_RATES = ("НДС22", "НДС10", "НДС0", "БезНДС")
_FUNNEL = re.compile(r"^C(\d+):")


@dataclass(frozen=True)
class Finding:
    ok: bool
    text: str


def run_checks(settings: ProcessorSettings, secret: BridgeSecret, pin: PortalPin | None = None) -> Iterator[Finding]:
    portals = configured_portals(secret, pin)
    if secret.single_portal:
        yield _pin_finding(pin)
    onec_checked: set[OnecConnection] = set()
    for portal in portals:
        label = f"{portal.name} ({portal.member_id}): " if len(portals) > 1 else ""
        if portal.onec not in onec_checked:
            onec_checked.add(portal.onec)
            yield from _onec(settings, portal.onec, label if portal.onec != secret.shared_onec else "")
        bitrix = Bitrix24Client(portal.webhook_url, timeout=settings.http_timeout_seconds)
        yield from (Finding(f.ok, label + f.text) for f in _bitrix24(bitrix, settings))


def _pin_finding(pin: PortalPin | None) -> Finding:
    if pin is None:
        return Finding(
            True, "single-portal secret: not pinned yet; the first accepted event pins its member_id and domain"
        )
    stamp = datetime.fromtimestamp(pin.pinned_at, UTC).isoformat()
    return Finding(
        True, f"single-portal secret: pinned to member_id {pin.member_id}, domain {pin.domain} since {stamp}"
    )


def _onec(settings: ProcessorSettings, connection: OnecConnection, label: str) -> Iterator[Finding]:
    profile = PROFILES[settings.document_kind]
    onec = ODataClient(
        connection.odata_url,
        username=connection.username,
        password=connection.password.get_secret_value(),
        timeout=settings.http_timeout_seconds,
    )
    finding, schema = _check_onec_metadata(onec, connection)
    yield Finding(finding.ok, label + finding.text)
    if schema is not None:
        missing = schema.missing(profile.entity_sets)
        yield (
            Finding(False, f"{label}1C does not publish {', '.join(missing)}: add them to the OData composition")
            if missing
            else Finding(True, f"{label}1C publishes every entity set {profile.name} needs")
        )
        yield from (Finding(f.ok, label + f.text) for f in _vat_rates(schema))
        yield from (Finding(ok, label + text) for ok, text in status_sync_checks(onec, schema, settings.document_kind))
        inn = connection.organization_inn or settings.onec_organization_inn
        yield from (Finding(f.ok, label + f.text) for f in _organization(onec, inn))
        if settings.onec_post_documents:
            yield from (Finding(f.ok, label + f.text) for f in _posting(onec, inn, profile.name))


def check_onec_answers(connection: OnecConnection, timeout: float) -> Finding:
    """Whether 1C answers $metadata with these credentials, from where this runs (the network probe's check)."""
    onec = ODataClient(
        connection.odata_url,
        username=connection.username,
        password=connection.password.get_secret_value(),
        timeout=timeout,
    )
    return _check_onec_metadata(onec, connection)[0]


def _check_onec_metadata(onec: ODataClient, connection: OnecConnection) -> tuple[Finding, OnecSchema | None]:
    try:
        schema = parse_metadata(onec.metadata())
    except ODataError as exc:
        if exc.status == 0:
            return Finding(False, f"1C does not answer at {connection.odata_url}: {exc.message}"), None
        return Finding(False, f"1C refused {connection.username}: {exc.explain()}"), None
    except MetadataError as exc:
        return Finding(False, f"1C's $metadata is unreadable: {exc}"), None
    return Finding(True, f"1C answers at {connection.odata_url} as {connection.username}"), schema


def _vat_rates(schema: OnecSchema) -> Iterator[Finding]:
    if schema.vat_rates is None:
        yield Finding(True, "1C's $metadata does not list VAT rates; they are checked per document")
        return
    missing = [rate for rate in REQUIRED_VAT_RATES if rate not in schema.vat_rates]
    if missing:
        yield Finding(
            False,
            f"1C has no VAT rate {', '.join(missing)}: this release predates the 2026 rates; update 1C:Бухгалтерия",
        )
    else:
        yield Finding(True, f"1C has the VAT rates {', '.join(REQUIRED_VAT_RATES)}")


def _organization(onec: ODataClient, organization_inn: str) -> Iterator[Finding]:
    try:
        organization = CatalogResolver(onec, ttl_seconds=0).organization(organization_inn)
    except (OnecSetupError, ReferenceNotFound, ODataError) as exc:
        yield Finding(False, f"organisation: {exc.explain() if isinstance(exc, ODataError) else exc}")
        return
    yield Finding(True, f"organisation {organization.name} issues the documents")


def _posting(onec: ODataClient, organization_inn: str, profile: str) -> Iterator[Finding]:
    """With OnecPostDocuments=true: what BP's fill checks need when posting is in the base (onec.posting)."""
    try:
        organization = CatalogResolver(onec, ttl_seconds=0).organization(organization_inn)
    except (OnecSetupError, ReferenceNotFound, ODataError):
        return  # already reported by the organisation check
    defaults = PostingDefaults(onec, ttl_seconds=0)
    needs: list[Callable[[], object]]
    if profile == BuyerInvoiceProfile.name:
        needs = [lambda: defaults.bank_account(organization.ref_key)]
    else:
        needs = [defaults.warehouse, lambda: defaults.accounts({**SALE_HEADER_ACCOUNTS, **GOODS_LINE_ACCOUNTS})]
    problems: list[str] = []
    for need in needs:
        try:
            need()
        except PostingSetupMissing as exc:
            problems.append(str(exc))
        except ODataError as exc:
            problems.append(exc.explain())
    if not problems:
        yield Finding(True, f"posting (OnecPostDocuments=true): 1C has what BP needs to post {profile} documents")
    for problem in problems:
        yield Finding(False, f"posting (OnecPostDocuments=true): {problem}")


def _bitrix24(bitrix: Bitrix24Client, settings: ProcessorSettings) -> Iterator[Finding]:
    try:
        scopes = bitrix.call("scope")
    except Bitrix24Error as exc:
        yield Finding(False, f"Bitrix24 webhook refused: {exc.code or exc.status} {exc.description}".rstrip())
        return
    if not isinstance(scopes, list) or "crm" not in scopes:
        yield Finding(False, "the Bitrix24 incoming webhook lacks the crm scope: tick CRM in its settings")
    else:
        yield Finding(True, "the Bitrix24 incoming webhook has the crm scope")
    if settings.trigger_stage_ids:
        yield from _stages(bitrix, settings.trigger_stage_ids)


def _stages(bitrix: Bitrix24Client, stage_ids: tuple[str, ...]) -> Iterator[Finding]:
    entities = {_stage_entity(stage) for stage in stage_ids}
    try:
        known = {
            str(row.get("STATUS_ID"))
            for entity in sorted(entities)
            for row in bitrix.call("crm.status.list", {"filter": {"ENTITY_ID": entity}}) or []
        }
    except Bitrix24Error as exc:
        yield Finding(False, f"trigger stages could not be read: {exc.description or exc.code}")
        return
    unknown = [stage for stage in stage_ids if stage not in known]
    if unknown:
        yield Finding(False, f"trigger stages {', '.join(unknown)} do not exist in Bitrix24: check TriggerStageIds")
    else:
        yield Finding(True, f"trigger stages exist: {', '.join(stage_ids)}")


def _stage_entity(stage_id: str) -> str:
    if stage_id.startswith("DT31_"):
        return "SMART_INVOICE_STAGE_" + stage_id.split("_", 1)[1].split(":", 1)[0]
    funnel = _FUNNEL.match(stage_id)
    return f"DEAL_STAGE_{funnel.group(1)}" if funnel else "DEAL_STAGE"


def diagnose(settings_factory: Callable[[], ProcessorSettings] = ProcessorSettings.from_environment) -> list[Finding]:
    try:
        settings = settings_factory()
    except ValidationError as exc:
        names = sorted({".".join(str(p) for p in error["loc"]) for error in exc.errors()})
        return [Finding(False, f"configuration: {', '.join(names).upper()} missing or invalid (see README)")]
    try:
        secret = load_secret(settings.bridge_secret_id, max_age_seconds=0)
    except SecretConfigurationError as exc:
        return [Finding(False, str(exc))]
    findings = [Finding(True, f"secret {settings.bridge_secret_id} has every key")]
    pin = None
    if secret.single_portal:
        try:
            pin = PortalPinStore(dynamodb_client(), settings.ledger_table_name).portal_pin()
        except ClientError as exc:
            findings.append(Finding(False, f"ledger table {settings.ledger_table_name} could not be read: {exc}"))
    findings.extend(run_checks(settings, secret, pin))
    return findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--stack", help="a deployed stack: report its network path to 1C and whether 1C answers the processor there"
    )
    parser.add_argument("--region", help="AWS region of the deployed stack")
    args = parser.parse_args(argv)
    if args.stack:
        from invoice_bridge.network_probe import network_findings  # it imports this module

        findings = network_findings(
            boto3.client("cloudformation", region_name=args.region),
            boto3.client("lambda", region_name=args.region),
            args.stack,
        )
    else:
        findings = diagnose()
    for finding in findings:
        print(f"  {'ok ' if finding.ok else 'FIX'}  {finding.text}")
    problems = sum(1 for finding in findings if not finding.ok)
    print(f"\n{problems} problem{'s' if problems != 1 else ''} found." if problems else "\nEverything is in place.")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
