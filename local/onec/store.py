"""The 1C sandbox's base in memory: the rows of every entity set under one lock, found by Ref_Key, stored with a
new DataVersion on each change, numbered and coded as 1C numbers new objects.
"""

from __future__ import annotations

import base64
import re
import struct
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from local.onec.model import ZERO_GUID, EntityType
from local.onec.protocol import ODataError

if TYPE_CHECKING:
    from local.onec.base import AccountingSetUp

Rows = dict[str, list[dict[str, Any]]]


def data_version(counter: int) -> str:
    """A DataVersion as 1C shows it: eight bytes, base64."""
    return base64.b64encode(struct.pack(">II", counter, 0)).decode("ascii")


class Store:
    """Every entity set's rows (`sets`, guarded by `lock`), the types they follow and the enumerations of the
    imitated release; `accounting` is what the base has set up for posting."""

    def __init__(
        self,
        types: dict[str, EntityType],
        sets: Rows,
        enums: dict[str, tuple[str, ...]],
        accounting: AccountingSetUp,
    ) -> None:
        self.types = types
        self.sets = sets
        self.enums = enums
        self.accounting = accounting
        self.lock = threading.Lock()
        self._numbers: dict[tuple[str, str, str], int] = {}
        self._versions = 1

    def find(self, entity_set: str, ref: str) -> dict[str, Any] | None:
        index = self.index_of(entity_set, ref.lower())
        return None if index is None else self.sets[entity_set][index]

    def index_of(self, entity_set: str, ref: str) -> int | None:
        for index, row in enumerate(self.sets.get(entity_set, [])):
            if row["Ref_Key"] == ref:
                return index
        return None

    def replace(self, entity_set: str, index: int, entity: dict[str, Any]) -> None:
        """Store a changed object as a new dict (readers may hold the old one) with a new DataVersion."""
        self._versions += 1
        self.sets[entity_set][index] = {**entity, "DataVersion": data_version(self._versions)}

    def stamp(self, entity: dict[str, Any]) -> None:
        """Give an object being written a new DataVersion."""
        self._versions += 1
        entity["DataVersion"] = data_version(self._versions)

    def next_number(self, entity_type: EntityType, prefix: str, date: str) -> str:
        """Autonumber per document kind, organisation prefix and year (NumberPeriodicity=Year, onec.md §1.6)."""
        counter = (entity_type.name, prefix, date[:4])
        sequence = self._numbers.get(counter, 0) + 1
        self._numbers[counter] = sequence
        head = f"{prefix}00-"
        return head + str(sequence).zfill(max(entity_type.number_length - len(head), 1))

    def next_code(self, entity_set: str) -> str:
        highest = 0
        for row in self.sets[entity_set]:
            match = re.fullmatch(r"00-(\d+)", str(row.get("Code", "")))
            if match:
                highest = max(highest, int(match[1]))
        return f"00-{highest + 1:06d}"


Check = Callable[[Store, EntityType, dict[str, Any], Mapping[str, Any]], None]
"""A kind's own rules on write (under the lock): may refuse with an ODataError and fill what 1C computes."""


def require(entity: Mapping[str, Any], *names: str) -> None:
    for name in names:
        value = entity.get(name)
        if value is None or value == ZERO_GUID or (isinstance(value, str) and not value.strip()):
            raise ODataError(400, "5", f"Нет обязательного значения свойства {name}")
