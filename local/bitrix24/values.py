"""Values as a Bitrix24 portal reads and writes them: ids, money, ``Y``/``N`` flags, portal-time dates, parameters.

The old ``crm.*`` methods answer strings, ``crm.item.*`` typed values; both read ``id``/``ID`` alike and want
``fields`` as an array.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from local.bitrix24.protocol import RestError

PORTAL_TZ = timezone(timedelta(hours=3))
BASE_DATE = datetime(2025, 3, 3, 10, 0, tzinfo=PORTAL_TZ)  # when the seeded records were created

# The CRM's entity type ids (crm.enum.ownertype) and the product rows' owner types.
ENTITY_TYPE_DEAL = 2
ENTITY_TYPE_COMPANY = 4
ENTITY_TYPE_OLD_INVOICE = 5
ENTITY_TYPE_SMART_INVOICE = 31
OWNER_TYPE_DEAL = "D"
OWNER_TYPE_SMART_INVOICE = "SI"

_CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def money_text(value: Decimal) -> str:
    return str(money(value))


def yn(flag: bool) -> str:
    return "Y" if flag else "N"


def iso(moment: datetime) -> str:
    return moment.astimezone(PORTAL_TZ).isoformat(timespec="seconds")


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def param(params: Mapping[str, Any], name: str) -> Any:
    """A parameter by name, ignoring case (``id``/``ID``), as Bitrix24's crm methods accept both."""
    if name in params:
        return params[name]
    lowered = name.lower()
    for key, value in params.items():
        if key.lower() == lowered:
            return value
    return None


def required_id(params: Mapping[str, Any], name: str, description: str) -> int:
    value = as_int(param(params, name))
    if value is None or value <= 0:
        raise RestError(400, "", description)
    return value


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "y", "true", "yes"}
    return bool(value)


def fields_param(params: Mapping[str, Any]) -> dict[str, Any]:
    fields = params.get("fields")  # lower-case only, as the crm methods read it
    if not isinstance(fields, dict):
        raise RestError(400, "", "Parameter 'fields' must be array.")
    return fields
