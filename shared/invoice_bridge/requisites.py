"""Russian taxpayer numbers: ИНН (checksum as 1C and the tax service compute it) and КПП (format)."""

from __future__ import annotations

import re

from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength
from stdnum.ru import inn as stdnum_inn

from invoice_bridge.messages import Msg, Text, t

_KPP = re.compile(r"[0-9]{4}[0-9A-Z]{2}[0-9]{3}")  # ASCII only: \d and str.isdigit() take any script's digits
_SEPARATORS = re.compile(r"[\s\-]+")


def normalise_inn(raw: str) -> str:
    return _SEPARATORS.sub("", raw)


def inn_problem(inn: str) -> Text | None:
    """None for a valid ИНН, else what is wrong with it (the caller adds where it came from)."""
    if not inn:
        return t(Msg.INN_EMPTY)
    if not (inn.isascii() and inn.isdigit()):
        return t(Msg.INN_NOT_DIGITS, inn=inn)
    if len(inn) not in (10, 12):
        return t(Msg.INN_LENGTH, inn=inn, digits=len(inn))
    if inn.startswith("00"):
        return t(Msg.INN_STARTS_00, inn=inn)
    try:
        stdnum_inn.validate(inn)
    except InvalidChecksum:
        return t(Msg.INN_CHECKSUM, inn=inn)
    except (InvalidComponent, InvalidFormat, InvalidLength):
        return t(Msg.INN_INVALID, inn=inn)
    return None


def kpp_problem(kpp: str) -> Text | None:
    if not kpp:
        return t(Msg.KPP_EMPTY)
    if not _KPP.fullmatch(kpp):
        return t(Msg.KPP_FORMAT, kpp=kpp)
    return None
