"""A small time-to-live cache for what a warm Lambda may reuse (product codes, requisites, 1C references)."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(self, ttl_seconds: float) -> None:
        self._ttl = ttl_seconds
        self._entries: dict[K, tuple[float, V]] = {}

    def get_many(self, keys: Iterable[K]) -> tuple[dict[K, V], set[K]]:
        """The fresh entries among `keys`, and the keys that have none (a cached None is an entry)."""
        now = time.monotonic()
        found: dict[K, V] = {}
        missing: set[K] = set()
        for key in keys:
            entry = self._entries.get(key)
            if entry is not None and entry[0] > now:
                found[key] = entry[1]
            else:
                missing.add(key)
        return found, missing

    def put(self, key: K, value: V) -> None:
        self._entries[key] = (time.monotonic() + self._ttl, value)

    def get_or_load(self, key: K, load: Callable[[], V]) -> V:
        found, _ = self.get_many((key,))
        if key in found:
            return found[key]
        value = load()  # a load that raises caches nothing
        self.put(key, value)
        return value
