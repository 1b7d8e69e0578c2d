"""Russian taxpayer numbers: ИНН (checksum as 1C and the tax service compute it) and КПП (format)."""

from __future__ import annotations

import re

from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength
from stdnum.ru import inn as stdnum_inn

_KPP = re.compile(r"[0-9]{4}[0-9A-Z]{2}[0-9]{3}")  # ASCII only: \d and str.isdigit() take any script's digits
_SEPARATORS = re.compile(r"[\s\-]+")


def normalise_inn(raw: str) -> str:
    return _SEPARATORS.sub("", raw)


def inn_problem(inn: str) -> str | None:
    """None for a valid ИНН, else what is wrong with it (the caller adds where it came from)."""
    if not inn:
        return "is empty; enter the buyer's INN (10 digits for a company, 12 for an individual entrepreneur)"
    if not (inn.isascii() and inn.isdigit()):
        return f"{inn} contains characters other than digits 0-9"
    if len(inn) not in (10, 12):
        return f"{inn} has {len(inn)} digits; must be 10 (company) or 12 (individual entrepreneur)"
    if inn.startswith("00"):
        return f"{inn} starts with 00, which no tax office code does"
    try:
        stdnum_inn.validate(inn)
    except InvalidChecksum:
        return f"{inn} has a wrong check digit; it was probably mistyped — compare it with the company's documents"
    except (InvalidComponent, InvalidFormat, InvalidLength):
        return f"{inn} is not a valid INN"
    return None


def kpp_problem(kpp: str) -> str | None:
    if not kpp:
        return "is empty; a company (10-digit INN) needs its 9-character KPP"
    if not _KPP.fullmatch(kpp):
        return f"{kpp} is not a KPP: expected 9 characters, 4 digits, 2 digits or capital Latin letters, 3 digits"
    return None
