"""User fields (``UF_CRM_*``) as a portal keeps and shows them, and their ``crm.item.*`` camelCase names.

A portal keeps a value only for a field it defines (a misspelled name is dropped without a word) and shows every
defined field on a read, unset ones as null. With no definitions given, the sandbox accepts any ``UF_CRM_*`` name.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from local.bitrix24.values import ENTITY_TYPE_SMART_INVOICE

_SMART_INVOICE_UF_PREFIX = "UF_CRM_SMART_INVOICE_"
_CAMEL_SMART_INVOICE_PREFIX = "ufCrmSmartInvoice"
_UPPER_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def store_user_fields(stored: dict[str, Any], known: frozenset[str] | None, user_fields: Mapping[str, Any]) -> None:
    """Keep the UF values a portal would keep; a name it does not have is dropped without a word."""
    for name, value in user_fields.items():
        if _user_field_exists(known, name):
            stored[name] = copy.deepcopy(value)


def _user_field_exists(defined: frozenset[str] | None, name: str) -> bool:
    return name.startswith("UF_CRM_") if defined is None else name in defined


def user_field_values(defined: frozenset[str] | None, stored: Mapping[str, Any]) -> dict[str, Any]:
    """What a read shows: every defined field (None when unset), or, with no definitions, the ones set."""
    if defined is None:
        return dict(stored)
    return {name: stored.get(name) for name in sorted(defined)}


def item_user_fields(values: Mapping[str, Any], entity_type_id: int, original: bool) -> dict[str, Any]:
    """The values under the names ``crm.item.*`` answers with (``useOriginalUfNames`` keeps ``UF_CRM_*``)."""
    if original:
        return dict(values)
    return {uf_name_to_camel(name, entity_type_id): value for name, value in values.items()}


def _camel_parts(rest: str) -> str:
    return "".join(part.capitalize() if part[:1].isalpha() else part.lower() for part in rest.split("_") if part)


def uf_name_to_camel(name: str, entity_type_id: int) -> str:
    """How ``crm.item.*`` spells a user field: ``UF_CRM_1725365197310`` → ``ufCrm_1725365197310``,
    ``UF_CRM_INVOICE_NO`` → ``ufCrmInvoiceNo``, and for invoices ``UF_CRM_SMART_INVOICE_1669960460`` →
    ``ufCrmSmartInvoice1669960460``. A name that is not ``UF_CRM_…`` is returned unchanged."""
    if entity_type_id == ENTITY_TYPE_SMART_INVOICE and name.startswith(_SMART_INVOICE_UF_PREFIX):
        return _CAMEL_SMART_INVOICE_PREFIX + _camel_parts(name.removeprefix(_SMART_INVOICE_UF_PREFIX))
    if not name.startswith("UF_CRM_"):
        return name
    rest = name.removeprefix("UF_CRM_")
    separator = "_" if rest[:1].isdigit() else ""
    return "ufCrm" + separator + _camel_parts(rest)


def uf_name_from_camel(name: str, entity_type_id: int) -> str | None:
    """The inverse of :func:`uf_name_to_camel`; ``None`` when ``name`` is not a ``ufCrm…`` name."""
    if entity_type_id == ENTITY_TYPE_SMART_INVOICE and name.startswith(_CAMEL_SMART_INVOICE_PREFIX):
        rest = name.removeprefix(_CAMEL_SMART_INVOICE_PREFIX)
        return _SMART_INVOICE_UF_PREFIX + _UPPER_RE.sub("_", rest).upper() if rest else None
    if not name.startswith("ufCrm"):
        return None
    rest = name.removeprefix("ufCrm").lstrip("_")
    return "UF_CRM_" + _UPPER_RE.sub("_", rest).upper() if rest else None
