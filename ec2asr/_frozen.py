"""A read-only mapping that pickles, deep-copies and compares like a dict."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

V = TypeVar("V")

__all__ = ["FrozenMap", "frozen_map"]


class FrozenMap(Mapping[str, V]):
    """An immutable ``str``-keyed mapping (``types.MappingProxyType`` cannot be pickled)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, V] | None = None) -> None:
        self._data: dict[str, V] = dict(data or {})

    def __getitem__(self, key: str) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return repr(self._data)

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenMap, (self._data,))


def frozen_map(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """Converter for attrs fields: copy ``value`` into a :class:`FrozenMap`."""
    return FrozenMap(value)
