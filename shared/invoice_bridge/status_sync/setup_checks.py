"""The doctor's checks for the status sync: the registers (and receipts) it reads are published and readable."""

from __future__ import annotations

from collections.abc import Iterator

from invoice_bridge.onec.client import ODataClient, ODataError
from invoice_bridge.onec.schema import OnecSchema
from invoice_bridge.status_sync.onec_reader import STATUS_SETS

# The composition entry (1C metadata object) behind each entity set the status sync reads.
COMPOSITION_ENTRIES = {
    "Document_СчетНаОплатуПокупателю": "Документ.СчетНаОплатуПокупателю",
    "InformationRegister_СтатусыДокументов": "РегистрСведений.СтатусыДокументов",
    "AccumulationRegister_ОплатаСчетов_RecordType": "РегистрНакопления.ОплатаСчетов",
    "Document_ПоступлениеНаРасчетныйСчет": "Документ.ПоступлениеНаРасчетныйСчет",
    "Document_РеализацияТоваровУслуг": "Документ.РеализацияТоваровУслуг",
    "Document_СчетФактураВыданный": "Документ.СчетФактураВыданный",
}
_WHERE = "Администрирование → Синхронизация данных → Настройка стандартного интерфейса OData → Состав"


def status_sync_checks(onec: ODataClient, schema: OnecSchema, document_kind: str) -> Iterator[tuple[bool, str]]:
    """(ok, text) per check: what is not published, then whether each published set can be read."""
    needed = STATUS_SETS.get(document_kind, ())
    missing = schema.missing(needed)
    if missing:
        entries = ", ".join(COMPOSITION_ENTRIES.get(name, name) for name in missing)
        yield (
            False,
            f"status sync: 1C does not publish {', '.join(missing)}: add {entries} to the OData composition ({_WHERE})",
        )
    unreadable = []
    for name in needed:
        if name in missing:
            continue
        try:
            onec.query(name, top=1)
        except ODataError as exc:
            unreadable.append(f"{name} ({exc.explain()})")
    if unreadable:
        yield False, f"status sync: 1C refuses to read {'; '.join(unreadable)}"
    elif not missing:
        yield True, f"status sync: 1C publishes and reads {', '.join(needed)}"
