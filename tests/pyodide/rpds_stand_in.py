"""A pure-Python STAND-IN for rpds-py, for the Pyodide test only (never shipped, never on PyPI).

rpds-py (persistent data structures, under jsonschema's `referencing`) is compiled; PyPI has
no wheel for Pyodide, and only Pyodide's own CDN serves one, which the offline test cannot
reach. This module offers the part of rpds' API that `referencing` and `jsonschema` use:
immutable `HashTrieMap`, `HashTrieSet` and `List`, each change returning a new object. It
is copied into Pyodide's site-packages as `rpds` by tests/pyodide/run_lite.mjs. In real
xlwings Lite the compiled rpds-py comes from Pyodide's repository instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

STAND_IN = True  # what the test asserts, so that a real rpds is never mistaken for this


class HashTrieMap(Mapping):
    __slots__ = ("_data",)

    def __init__(self, value: Any = (), **kwds: Any) -> None:
        data = dict(value.items() if isinstance(value, Mapping) else value)
        data.update(kwds)
        self._data = data

    @classmethod
    def convert(cls, value: Any) -> HashTrieMap:
        return value if isinstance(value, HashTrieMap) else cls(value)

    @classmethod
    def fromkeys(cls, keys: Iterable[Any], value: Any = None) -> HashTrieMap:
        return cls(dict.fromkeys(keys, value))

    def __getitem__(self, key: Any) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self._data) == dict(other)

    def __repr__(self) -> str:
        return f"HashTrieMap({self._data!r})"

    def insert(self, key: Any, value: Any) -> HashTrieMap:
        return HashTrieMap({**self._data, key: value})

    def remove(self, key: Any) -> HashTrieMap:
        if key not in self._data:
            raise KeyError(key)
        return self.discard(key)

    def discard(self, key: Any) -> HashTrieMap:
        return HashTrieMap({k: v for k, v in self._data.items() if k != key})

    def update(self, *maps: Any, **kwds: Any) -> HashTrieMap:
        data = dict(self._data)
        for each in maps:
            data.update(each.items() if isinstance(each, Mapping) else each)
        data.update(kwds)
        return HashTrieMap(data)


class HashTrieSet:
    __slots__ = ("_data",)

    def __init__(self, value: Iterable[Any] = ()) -> None:
        self._data = frozenset(value)

    def __contains__(self, item: object) -> bool:
        return item in self._data

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(self._data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HashTrieSet | set | frozenset) and set(self) == set(other)

    def __repr__(self) -> str:
        return f"HashTrieSet({set(self._data)!r})"

    def insert(self, value: Any) -> HashTrieSet:
        return HashTrieSet(self._data | {value})

    def discard(self, value: Any) -> HashTrieSet:
        return HashTrieSet(self._data - {value})

    def remove(self, value: Any) -> HashTrieSet:
        if value not in self._data:
            raise KeyError(value)
        return self.discard(value)

    def update(self, *iterables: Iterable[Any]) -> HashTrieSet:
        data = set(self._data)
        for each in iterables:
            data.update(each)
        return HashTrieSet(data)


class List:
    __slots__ = ("_items",)

    def __init__(self, *values: Any) -> None:
        items = values[0] if len(values) == 1 and not isinstance(values[0], str) else values
        self._items = tuple(items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __reversed__(self) -> Iterator[Any]:
        return reversed(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, List) and self._items == other._items

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return f"List({list(self._items)!r})"

    @property
    def first(self) -> Any:
        if not self._items:
            raise IndexError("empty List has no first element")
        return self._items[0]

    @property
    def rest(self) -> List:
        return List(self._items[1:])

    def push_front(self, value: Any) -> List:
        return List((value, *self._items))

    def drop_first(self) -> List:
        return self.rest
