"""OData v3 literals as 1C reads them. Every value from Bitrix24 goes through here, never into a query raw."""

from __future__ import annotations

import uuid
from datetime import datetime


def string_literal(value: str) -> str:
    """'…' with embedded quotes doubled, so no value can close the literal and change the query."""
    return "'" + value.replace("'", "''") + "'"


def guid_literal(value: str) -> str:
    return f"guid'{uuid.UUID(value)}'"


def datetime_literal(value: datetime) -> str:
    return f"datetime'{value.replace(tzinfo=None, microsecond=0).isoformat()}'"
