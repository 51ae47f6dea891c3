# Type stub of the optional C module built from _speedups.c (see setup.py).
from typing import Any

API_VERSION: int
FIELD_CONST: int
FIELD_IDENT: int
FIELD_SID: int
FIELD_UNLOADED: int

class Maker:
    def __init__(
        self,
        cls: type,
        new: Any,
        keys: tuple[str, ...],
        first: int,
        state_attr: str,
        state_type: type,
        ref_type: type,
        gone: Any,
        fields: tuple[tuple[str, int, Any], ...],
    ) -> None: ...
    def __call__(self, row: Any, ident: Any, sid: Any, unloaded: Any, identity_map: Any) -> Any: ...
    def load(self, rows: Any, key_position: int, identity_map: dict[Any, Any], sid: Any,
             unloaded: Any, always_refresh: bool, out: list[Any], refresh: Any) -> None: ...

class Layout:
    def __init__(self, state_type: type, gone: Any = ..., fresh: tuple[tuple[str, Any], ...] = ...
                 ) -> None: ...
    def new_state(self, obj: Any, mapper: Any) -> Any: ...
    def expire(self, states: Any, facts: dict[Any, Any], describe: Any, slow: Any) -> None: ...
    def link_children(self, links: dict[Any, Any], state: Any, children: Any, start: int,
                      link_type: type, src_keys: tuple[str, ...], dest_keys: tuple[str, ...],
                      prop: Any, post: bool, sid: Any, deleting: set[Any], target: Any,
                      state_attr: str, kept: set[Any] | None) -> int: ...
    def file_new(self, states: Any, start: int, mapper: Any, key_attr: str,
                 inner: dict[Any, Any], lazy_key: Any, weak: bool,
                 expire: dict[Any, Any]) -> int: ...
    def unkeyed(self, states: Any, start: int, mapper: Any, key_attr: str,
                links: dict[Any, Any]) -> int: ...
    def state_of(self, obj: Any, state_attr: str) -> Any: ...
    def copy_keys(self, links: dict[Any, Any], states: Any, start: int, link_type: type) -> int: ...
