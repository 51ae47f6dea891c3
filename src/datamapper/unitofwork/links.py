"""What relationships add to a flush, as data: key links, association rows, and
the :class:`Dependencies` of one flush; reading a key to copy and applying a link.

Callers: ``dependency.py`` (which fills a :class:`Dependencies`), the planner
(which orders the links' writes), ``flush.py`` (which applies them) and
``inherited.py``.  A :class:`Link` says "copy the key of ``src`` into the
foreign-key attributes of ``dest`` before ``dest`` is written" (or clear them,
``src=None``); an :class:`AssocRow` is one row of a many-to-many ``secondary``
table to insert or delete.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .._util import NO_VALUE
from ..instance.state import InstanceState, _sessions
from ..loading.rows import load_attributes_stmt
from ..mapping.relationships import RelationshipProperty, declares_update_cascade


@dataclass(eq=False, slots=True)
class Link:
    """The foreign-key attributes ``dest_keys`` of ``dest`` take ``src``'s ``src_keys``."""

    dest: InstanceState
    src: InstanceState | None  # None: set the foreign key to NULL
    src_keys: tuple[str, ...]
    dest_keys: tuple[str, ...]
    prop: RelationshipProperty | None
    post: bool = False  # written by a post-update (cycle broken here, or post_update=True)

    def nullable(self) -> bool:
        cols = self.dest.mapper.columns
        return all(getattr(cols.get(k), "nullable", True) for k in self.dest_keys)

    def values(self) -> tuple[Any, ...]:
        if self.src is None:
            return tuple(None for _k in self.dest_keys)
        d = source_dict(self.src, self.src_keys)
        return tuple(d.get(k) for k in self.src_keys)


def source_dict(state: InstanceState, keys: Iterable[str]) -> dict[str, Any]:
    """``state``'s object ``__dict__`` with ``keys`` loaded.

    A persistent object expired by a commit has an empty ``__dict__``; a key
    copied from it (a parent's primary key into a child's foreign key, an
    association row's ends) must not be read as None.  Primary-key values come
    from the identity key without SQL; other columns are loaded through the
    object's session (one SELECT of its expired columns).
    """
    d: dict[str, Any] = state.strong_obj().__dict__
    missing = [k for k in keys if k not in d]
    if not missing:
        return d
    if state._key is None:
        if state.session_id is not None:
            _read_server_generated(state, missing, d)
        return d
    mapper = state.mapper
    pk_keys = mapper._pk_keys
    ident = state.identity or ()
    rest = []
    for k in missing:
        if k in pk_keys:
            d[k] = ident[pk_keys.index(k)]
        else:
            rest.append(k)
    state.loaded([k for k in missing if k in d])
    if rest and state.session_id is not None:
        sess = _sessions.get(state.session_id)
        if sess is not None:
            sess._load_attributes(state, None)
    return d


def _read_server_generated(state: InstanceState, missing: list[str], d: dict[str, Any]) -> None:
    """A new object INSERTed earlier in this flush, whose column the database filled in
    (a server default) is copied into another row (the foreign key of a child that
    refers to it): read it back by primary key, one SELECT, on the flush's connection."""
    mapper = state.mapper
    keys = [k for k in missing if k in mapper._column_keys and any(
        getattr(c, "server_default", None) is not None for c in mapper._props[k].columns)]
    if not keys:
        return
    ident = [d.get(k) for k in mapper._pk_keys]
    sess = _sessions.get(state.session_id) if state.session_id is not None else None
    if sess is None or any(v is None for v in ident):
        return
    stmt, _props = load_attributes_stmt(mapper, keys)
    params = {f"_dm_pk_{i}": v for i, v in enumerate(ident)}
    row = sess._run(stmt, params, sess.get_bind(mapper=mapper, clause=stmt), None).first()
    if row is not None:
        d.update(zip(keys, row, strict=True))


@dataclass(eq=False)
class AssocRow:
    """One row of a many-to-many ``secondary`` table."""

    prop: RelationshipProperty
    parent: InstanceState
    child: InstanceState
    # a row whose ends' keys changed: its values as the database holds them, read
    # before the flush writes anything (rows to UPDATE: before the UPDATE; rows to
    # DELETE: after the ends' UPDATEs, see stored_params)
    old: dict[str, Any] | None = None

    def params(self, committed: bool = False) -> dict[str, Any]:
        """The row's column values from its ends' keys (``committed``: the keys as
        last loaded or flushed, not as changed since)."""
        prop = self.prop
        pkeys = [prop.parent._col_to_prop[pcol].key for pcol, _s in prop.synchronize_pairs]
        ckeys = [prop.mapper._col_to_prop[tcol].key
                 for tcol, _s in prop.secondary_synchronize_pairs]
        pd = source_dict(self.parent, pkeys)
        cd = source_dict(self.child, ckeys)
        if committed:
            pd, cd = as_committed(self.parent, pd, pkeys), as_committed(self.child, cd, ckeys)
        out = {}
        for (_p, scol), k in zip(prop.synchronize_pairs, pkeys, strict=True):
            out[scol.key] = pd.get(k)
        for (_t, scol), k in zip(prop.secondary_synchronize_pairs, ckeys, strict=True):
            out[scol.key] = cd.get(k)
        return out

    def stored_params(self) -> dict[str, Any] | None:
        """For a row to DELETE once its ends are written: its column values as the
        database holds them then, where an end's key changed in this flush (None: it
        didn't, ``params()`` applies).  A column whose foreign key declares ON UPDATE
        CASCADE has the end's new key by then; any other still has the key as last
        loaded or flushed (the flush moves only the rows it keeps)."""
        if not _key_changed(self.parent) and not _key_changed(self.child):
            return None
        new, old = self.params(), self.params(committed=True)
        if new == old:
            return None
        table = self.prop.secondary
        return {k: new[k] if declares_update_cascade(table.c[k]) else old[k] for k in new}

    def _columns(self) -> list[tuple[Any, InstanceState]]:
        """(secondary column, the object whose key fills it), in column-name order."""
        cols = [(s, self.parent) for _p, s in self.prop.synchronize_pairs] + [
            (s, self.child) for _t, s in self.prop.secondary_synchronize_pairs]
        cols.sort(key=lambda cs: cs[0].key)
        return cols

    def ident(self) -> tuple[Any, ...]:
        """Same value for the row whichever side of a backref pair reported it."""
        return (self.prop.secondary,) + tuple((c.key, id(st)) for c, st in self._columns())

    def ends(self) -> tuple[InstanceState, ...]:
        """The two objects in the order of the row's columns (not of the reporting
        side), so that rows reported by either side of a backref pair sort together."""
        return tuple(st for _c, st in self._columns())


@dataclass
class Dependencies:
    links: dict[InstanceState, dict[tuple[str, ...], Link]] = field(default_factory=dict)
    assoc_insert: dict[Any, AssocRow] = field(default_factory=dict)
    assoc_delete: dict[Any, AssocRow] = field(default_factory=dict)
    # rows of members whose parent's key changed (passive_updates=False): UPDATEd
    assoc_update: dict[Any, AssocRow] = field(default_factory=dict)
    extra_saves: list[InstanceState] = field(default_factory=list)
    orphans: list[InstanceState] = field(default_factory=list)
    # marked deleted, but put into a surviving parent's one-to-many: not deleted after all
    undeleted: list[InstanceState] = field(default_factory=list)
    # objects loaded only for this flush (members of a deleted parent's dynamic
    # relationship): held here so that they live until it is written
    held: list[Any] = field(default_factory=list)
    # a link of ``links`` may be written by a post-update (post_update=True, or a
    # cycle broken there): the planner looks for them only then
    any_post: bool = False


def _key_changed(state: InstanceState) -> bool:
    """Whether an attribute of ``state`` changed since loaded or flushed that is part of
    its primary key or of another key a relationship refers to (cheap test first)."""
    cs = state._committed
    if not cs:
        return False
    return any(k in cs for k in state.mapper._column_keys)


def as_committed(state: InstanceState, d: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """``d`` (an object's values) with the committed value of each of ``keys`` that
    changed since it was loaded or flushed."""
    cs = state._committed
    if not cs or not any(k in cs for k in keys):
        return d
    out = dict(d)
    for k in keys:
        v = cs.get(k, NO_VALUE)
        if v is not NO_VALUE:
            out[k] = v
    return out


def apply_link(link: Link) -> None:
    """Copy the source's key values into the destination's foreign-key attributes."""
    dest = link.dest
    obj = dest.strong_obj()
    d = obj.__dict__
    values = link.values()
    if dest._key is None and dest._extra is None:
        for k, v in zip(link.dest_keys, values, strict=True):
            d[k] = v
        return
    cs = dest.committed_state
    for k, v in zip(link.dest_keys, values, strict=True):
        old = d.get(k, NO_VALUE)
        if old is v or (old is not NO_VALUE and old == v and type(old) is type(v)):
            continue
        if k not in cs:
            cs[k] = old
        d[k] = v
    if cs:
        dest.modified_event(obj)
