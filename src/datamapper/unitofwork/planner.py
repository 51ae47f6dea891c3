"""The flush planner: change set + dependencies -> ordered, batched actions.

Callers: :class:`~.flush.UOWTransaction`.  The plan has five phases:
saves (INSERT/UPDATE, parents before children), association rows inserted,
post-updates (foreign keys written after both rows exist), association rows
deleted, deletes (children before parents).  Inside the save and delete
phases a deterministic topological sort orders (mapper, action) nodes; edges
come from relationships *and* from Table foreign keys.  Only nodes inside a
cycle are split into per-row steps: their rows are sorted one by one, a row
cycle is broken through a nullable foreign key (insert with NULL, UPDATE
afterwards; before deletes, UPDATE to NULL first), and rows free at the
same time are still batched per mapper.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from typing import Any

from sqlalchemy.exc import CircularDependencyError

from .._util import NO_VALUE, describe
from ..exc import InvalidRequestError
from ..instance.state import InstanceState, all_lazy_keys
from ..mapping.cache import CacheSlot
from ..mapping.mapper import Mapper
from . import topo
from .inherited import hierarchy_references
from .links import Dependencies, Link
from .plan import Action, FlushPlan


def _mrank(m: Mapper) -> tuple[str, str]:
    return (m._table_name, m.class_.__name__)


def _srank(state: InstanceState) -> Any:
    key = state.key
    if key is None:
        return (1, (), state.insert_order)
    try:
        return (0, tuple((v is None, v) for v in key[1]), state.insert_order)
    except TypeError:
        return (0, (), state.insert_order)


_by_key = operator.attrgetter("key")
_by_insert_order = operator.attrgetter("insert_order")


def _group(states: Iterable[InstanceState], into: dict[Mapper, list[InstanceState]]) -> None:
    """Append each state to the list of its hierarchy's base mapper in ``into`` (runs of
    states of one mapper, the usual flush, look the list up once)."""
    last: Any = None
    append: Any = None
    for s in states:
        mapper = s.mapper
        if mapper is not last:
            base = mapper.base_mapper
            lst = into.get(base)
            if lst is None:
                lst = into[base] = []
            append = lst.append
            last = mapper
        append(s)
_by_ident = operator.attrgetter("_ident")


def _sort_persistent(states: list[InstanceState]) -> None:
    """Sort one mapper's persistent states by identity (the statement order)."""
    try:
        if all_lazy_keys(states):
            # one-column keys without token: order by the key values themselves
            states.sort(key=_by_ident)
        else:
            # the identity keys of one mapper share their class, so tuples compare by
            # identity values; a None key or key value makes them unorderable
            states.sort(key=_by_key)
    except TypeError:
        try:
            states.sort(key=_srank)
        except TypeError:
            _sort_by_type_keys(states)


def _sort_by_type_keys(states: list[InstanceState]) -> None:
    """Key values Python can't order: order them by each key column type's
    ``sort_key_function`` (``Enum`` has one); refuse the flush when there is none."""
    mapper = states[0].mapper
    fns = [getattr(c.type, "sort_key_function", None) for c in mapper.primary_key]

    def rank(state: InstanceState) -> Any:
        key = state.key
        if key is None:
            return (1, (), state.insert_order)
        return (0, tuple((v is None, v if v is None or fn is None else fn(v))
                         for v, fn in zip(key[1], fns, strict=True)), state.insert_order)

    try:
        states.sort(key=rank)
    except TypeError as err:
        raise InvalidRequestError(
            f"Can't flush {mapper.class_.__name__} objects: their primary key values can't "
            f"be ordered in Python ({err}), and the flush writes rows in key order; give "
            "the key's values an order (__lt__) or its column type a sort_key_function"
        ) from err


class Planner:
    def __init__(self, new: list[InstanceState], dirty: list[InstanceState],
                 deleted: list[InstanceState], deps: Dependencies) -> None:
        self.deps = deps
        self.inserts: dict[Mapper, list[InstanceState]] = {}
        self.updates: dict[Mapper, list[InstanceState]] = {}
        self.deletes: dict[Mapper, list[InstanceState]] = {}
        # objects of an inheritance hierarchy are filed under its base mapper
        _group(sorted(new, key=_by_insert_order), self.inserts)
        _group(dirty, self.updates)
        for lst in self.updates.values():
            _sort_persistent(lst)
        _group(deleted, self.deletes)
        for lst in self.deletes.values():
            _sort_persistent(lst)
        self.post_links: list[Link] = []
        self.pre_delete_links: list[Link] = []
        self.cycles: list[list[str]] = []

    # -- entry point ---------------------------------------------------------------------
    def plan(self) -> FlushPlan:
        plan = FlushPlan()
        save_mappers = set(self.inserts) | set(self.updates)
        plan.actions.extend(self._phase(save_mappers, deleting=False))
        if self.deps.assoc_update:
            plan.actions.extend(self._assoc_actions("reassociate", self.deps.assoc_update))
        if self.deps.assoc_insert:
            plan.actions.extend(self._assoc_actions("associate", self.deps.assoc_insert))
        if self.deps.any_post:
            seen: set[int] = set()
            for links in self.deps.links.values():
                for link in links.values():
                    if link.post and id(link) not in seen:
                        seen.add(id(link))
                        self.post_links.append(link)
        if self.post_links:
            plan.actions.extend(self._link_actions("post_update", self.post_links,
                                                   "foreign keys written once both rows exist"))
        if self.deps.assoc_delete:
            plan.actions.extend(self._assoc_actions("dissociate", self.deps.assoc_delete))
        if self.deletes:
            cleared = self._post_update_refs_between_deletes()
            if cleared:
                plan.actions.extend(self._link_actions(
                    "pre_delete_update", cleared,
                    "post_update foreign keys between deleted rows set to NULL before the "
                    "DELETEs"))
        plan.actions.extend(self._phase(set(self.deletes), deleting=True))
        plan.cycles = self.cycles
        return plan

    # -- mapper-level sort ---------------------------------------------------------------
    def _phase(self, mappers: set[Mapper], deleting: bool) -> list[Action]:
        if not mappers:
            return []
        order, cycles, reason_of = _mapper_order(mappers, deleting)
        in_cycle: dict[Mapper, int] = {}
        for i, c in enumerate(cycles):
            for m in c:
                in_cycle[m] = i
        actions: list[Action] = []
        done_cycles: set[int] = set()
        for m in order:
            ci = in_cycle.get(m)
            if ci is None:
                actions.append(self._mapper_action(m, deleting, reason_of[m]))
                continue
            if ci in done_cycles:
                continue
            done_cycles.add(ci)
            comp = sorted(cycles[ci], key=_mrank)
            self.cycles.append([("delete " if deleting else "save ") + c.class_.__name__
                                for c in comp])
            actions.extend(self._rows(comp, deleting))
        return actions

    def _mapper_action(self, m: Mapper, deleting: bool, reason: str) -> Action:
        if deleting:
            return Action("delete", m, list(self.deletes[m]), reason=reason)
        ins = self.inserts.get(m, [])
        upd = self.updates.get(m, [])
        return Action("save", m, ins + upd, reason=reason, inserts=list(ins), updates=list(upd))

    def _post_update_refs_between_deletes(self) -> list[Link]:
        """Links clearing post_update foreign keys from a deleted row to another one.

        The delete order ignores post_update references (they are what breaks a
        cycle), so such a key would still point at a row deleted first (or make an
        ON DELETE CASCADE remove the referring row before its own DELETE).
        """
        out: list[Link] = []
        index: dict[tuple[Mapper, tuple[str, ...]], set[tuple[Any, ...]]] = {}
        for m in sorted(self.deletes, key=_mrank):
            refs = [r for r in hierarchy_references(m)
                    if r.post_update and r.src.base_mapper in self.deletes]
            for ref in refs:
                ik = (ref.src.base_mapper, ref.src_keys)
                targets = index.get(ik)
                if targets is None:
                    targets = index[ik] = set()
                    by_pk = ref.src_keys == tuple(ref.src._pk_keys)
                    for st in self.deletes[ref.src.base_mapper]:
                        if not by_pk and not st.mapper.isa(ref.src):
                            continue  # (another class of the hierarchy: no such keys)
                        v = st.identity if by_pk else _fk_values(st, ref.src_keys, True)
                        if v is not None:
                            targets.add(v)
                for s in self.deletes[m]:
                    if s.mapper is not ref.dest and not s.mapper.isa(ref.dest):
                        continue  # a row of another class of the hierarchy
                    value = _fk_values(s, ref.dest_keys, True)
                    if value is not None and value in targets:
                        out.append(Link(s, None, ref.src_keys, ref.dest_keys, ref.prop))
        return out

    # -- per-row steps inside a cycle ------------------------------------------------------
    def _rows(self, comp: list[Mapper], deleting: bool) -> list[Action]:
        ms = set(comp)
        if deleting:
            rows = [s for m in comp for s in self.deletes.get(m, [])]
        else:
            rows = [s for m in comp for s in self.inserts.get(m, []) + self.updates.get(m, [])]
        rowset = set(rows)
        # row edges: (before, after, link)
        edges: list[tuple[InstanceState, InstanceState, Link]] = []
        pk_index = _pk_index(rows, deleting)
        links = self.deps.links
        for r in rows:
            covered: set[tuple[str, ...]] = set()
            if not deleting:
                _link_edges(r, links.get(r), rowset, covered, edges)
            _reference_edges(r, ms, covered, pk_index, deleting, edges)
        kept = self._break_cycles(rows, edges, deleting)
        return self._levels(comp, rows, kept, deleting)

    def _break_cycles(self, rows: list[InstanceState],
                      edges: list[tuple[InstanceState, InstanceState, Link]],
                      deleting: bool) -> list[tuple[InstanceState, InstanceState, Link]]:
        rank = {s: i for i, s in enumerate(rows)}
        live = list(edges)
        while True:
            succ: dict[InstanceState, set[InstanceState]] = {s: set() for s in rows}
            for a, b, _l in live:
                succ[a].add(b)
            comps = [c for c in topo.scc(rows, succ, rank.__getitem__)
                     if len(c) > 1 or any(n in succ[n] for n in c)]
            if not comps:
                return live
            comp = set(comps[0])
            inside = [e for e in live if e[0] in comp and e[1] in comp]
            breakable = [e for e in inside if e[2].nullable() and not _is_pk(e[2])]
            if not breakable:
                names = ", ".join(sorted(describe(s.obj()) for s in comp))
                path = "; ".join(
                    f"{describe(a.obj())} -> {describe(b.obj())} ({_link_name(lk)})"
                    for a, b, lk in inside)
                raise CircularDependencyError(
                    f"Can't flush: the rows of {names} depend on each other through NOT NULL "
                    f"foreign keys ({path}); make one of the foreign keys nullable (it is then "
                    "written by an UPDATE after both rows exist) or flush the objects in two "
                    "steps",
                    comp, [(a, b) for a, b, _l in inside],
                )
            breakable.sort(key=lambda e: (_mrank(e[2].dest.mapper), e[2].dest_keys,
                                          rank[e[2].dest], rank[e[0]] if not deleting else 0))
            victim = breakable[0]
            live.remove(victim)
            link = victim[2]
            if deleting:
                self.pre_delete_links.append(Link(link.dest, None, link.src_keys,
                                                  link.dest_keys, link.prop))
            else:
                self.deps.any_post = True
                existing = self.deps.links.get(link.dest, {}).get(link.dest_keys)
                if existing is link:
                    link.post = True
                else:
                    link.post = True
                    self.deps.links.setdefault(link.dest, {})[link.dest_keys] = link

    def _levels(self, comp: list[Mapper], rows: list[InstanceState],
                edges: list[tuple[InstanceState, InstanceState, Link]],
                deleting: bool) -> list[Action]:
        preds: dict[InstanceState, list[InstanceState]] = {s: [] for s in rows}
        succ: dict[InstanceState, list[InstanceState]] = {s: [] for s in rows}
        for a, b, _l in edges:
            preds[b].append(a)
            succ[a].append(b)
        level: dict[InstanceState, int] = {}
        indeg = {s: len(preds[s]) for s in rows}
        ready = [s for s in rows if indeg[s] == 0]
        for s in ready:
            level[s] = 0
        i = 0
        while i < len(ready):
            s = ready[i]
            i += 1
            for t in succ[s]:
                level[t] = max(level.get(t, 0), level[s] + 1)
                indeg[t] -= 1
                if indeg[t] == 0:
                    ready.append(t)
        actions: list[Action] = []
        if deleting and self.pre_delete_links:
            mine = [lk for lk in self.pre_delete_links if lk.dest.mapper.base_mapper in comp]
            actions.extend(self._link_actions(
                "pre_delete_update", mine,
                "rows refer to each other: foreign keys set to NULL before the DELETEs"))
        depth = max(level.values(), default=0)
        names = ", ".join(m.class_.__name__ for m in comp)
        for lvl in range(depth + 1):
            for m in comp:
                here = [s for s in rows if s.mapper.base_mapper is m and level.get(s) == lvl]
                if not here:
                    continue
                why = (f"per-row step {lvl + 1} of the cycle between {names}: "
                       + ("rows referring to others are deleted first" if deleting
                          else "rows referred to are saved first"))
                if deleting:
                    actions.append(Action("delete", m, here, reason=why))
                else:
                    ins = [s for s in here if s._key is None]
                    upd = [s for s in here if s._key is not None]
                    actions.append(Action("save", m, ins + upd, reason=why, inserts=ins,
                                          updates=upd))
        return actions

    # -- association rows and post-updates ----------------------------------------------------
    def _assoc_actions(self, verb: str, rows: dict[Any, Any]) -> list[Action]:
        by_table: dict[Any, list[Any]] = {}
        for row in rows.values():
            by_table.setdefault(row.prop.secondary, []).append(row)
        out = []
        for table in sorted(by_table, key=lambda t: str(t.name)):
            items = by_table[table]
            # by the rows' columns (a row reported by either side of a backref pair)
            try:
                items.sort(key=lambda r: tuple(map(_srank, r.ends())))
            except TypeError:  # key values of one column Python can't order
                items.sort(key=lambda r: tuple(s.insert_order for s in r.ends()))
            why = {"associate": "both ends of each row exist by now",
                   "reassociate": "the rows take the new keys their ends were saved with",
                   }.get(verb, "rows removed before either end is deleted")
            a = Action(verb, items[0].prop.parent, [], reason=why, payload=items)
            a.table_name = str(table.name)
            out.append(a)
        return out

    def _link_actions(self, verb: str, links: Iterable[Link], why: str) -> list[Action]:
        by_mapper: dict[Mapper, list[Link]] = {}
        for link in links:
            by_mapper.setdefault(link.dest.mapper, []).append(link)
        out = []
        for m in sorted(by_mapper, key=_mrank):
            items = by_mapper[m]
            items.sort(key=lambda lk: (_srank(lk.dest), lk.dest_keys))
            out.append(Action(verb, m, [lk.dest for lk in items], reason=why, payload=items))
        return out


def _pk_index(rows: list[InstanceState], deleting: bool
              ) -> dict[Mapper, dict[tuple[Any, ...], InstanceState]]:
    """The rows by base mapper and primary key (a row being deleted by the identity
    it was loaded with)."""
    pk_index: dict[Mapper, dict[tuple[Any, ...], InstanceState]] = {}
    for s in rows:
        ident = s.identity if (deleting and s._key is not None) else _pk_values(s)
        if ident is not None:
            pk_index.setdefault(s.mapper.base_mapper, {})[ident] = s
    return pk_index


def _link_edges(r: InstanceState, per: dict[tuple[str, ...], Link] | None,
                rowset: set[InstanceState], covered: set[tuple[str, ...]],
                edges: list[tuple[InstanceState, InstanceState, Link]]) -> None:
    """Row ``r`` (saved) after the new rows of this set its links copy a key from;
    the foreign keys the links fill go into ``covered``."""
    for link in (per or {}).values():
        covered.add(link.dest_keys)
        src = link.src
        if link.post or src is None or src not in rowset or src._key is not None:
            continue
        edges.append((src, r, link))


def _reference_edges(r: InstanceState, ms: set[Mapper], covered: set[tuple[str, ...]],
                     pk_index: dict[Mapper, dict[tuple[Any, ...], InstanceState]],
                     deleting: bool,
                     edges: list[tuple[InstanceState, InstanceState, Link]]) -> None:
    """Row ``r`` and the rows of this set its foreign-key values (not ``covered`` by a
    link) point at: saved after a new one, deleted before it."""
    for ref in hierarchy_references(r.mapper.base_mapper):
        if ref.src.base_mapper not in ms or ref.dest_keys in covered or ref.post_update:
            continue
        if not isinstance(r.strong_obj(), ref.dest.class_):
            continue  # a reference of a subclass this row is not of
        value = _fk_values(r, ref.dest_keys, deleting)
        if value is None:
            continue
        src = pk_index.get(ref.src.base_mapper, {}).get(value)
        if src is None or (not deleting and src._key is not None):
            continue
        if deleting:
            edges.append((r, src, Link(r, None, ref.src_keys, ref.dest_keys, ref.prop)))
        else:
            edges.append((src, r, Link(r, src, ref.src_keys, ref.dest_keys, ref.prop)))


def _pk_values(state: InstanceState) -> tuple[Any, ...] | None:
    d = state.strong_obj().__dict__
    vals = tuple(d.get(k) for k in state.mapper._pk_keys)
    return None if None in vals else vals


def _fk_values(state: InstanceState, keys: tuple[str, ...], deleting: bool
               ) -> tuple[Any, ...] | None:
    obj = state.strong_obj()
    d = obj.__dict__
    cs = state.committed_state
    out = []
    for k in keys:
        if deleting and k in cs and cs[k] is not NO_VALUE:
            v = cs[k]
        elif k in d:
            v = d[k]
        elif state._key is not None and deleting:
            v = getattr(obj, k)
        else:
            return None
        if v is None:
            return None
        out.append(v)
    return tuple(out)


def _is_pk(link: Link) -> bool:
    return any(k in link.dest.mapper._pk_keys for k in link.dest_keys)


def _link_name(link: Link) -> str:
    m = link.dest.mapper.class_.__name__
    if link.prop is not None:
        return f"{link.prop.parent.class_.__name__}.{link.prop.key}"
    return f"{m}.{'/'.join(link.dest_keys)}"


# the mapper-level order of a phase depends only on the mappers and their configuration:
# computed once per set of mappers (the caches go when any mapper changes)
_ORDER_CACHE_SIZE = 64
_MapperOrder = tuple[list[Mapper], list[set[Mapper]], dict[Mapper, str]]
_ORDERS: CacheSlot[dict[tuple[frozenset[Mapper], bool], _MapperOrder]] = CacheSlot(
    "flush order of sets of mappers")


def _mapper_order(mappers: set[Mapper], deleting: bool) -> _MapperOrder:
    """(the mappers in the order their rows are written, the cycles among them, the
    reason each is where it is) for a save (``deleting`` False) or delete phase."""
    owner = next(iter(mappers))
    cache = _ORDERS.get(owner)
    if cache is None:
        cache = _ORDERS.set(owner, {})
    key = (frozenset(mappers), deleting)
    hit = cache.get(key)
    if hit is not None:
        return hit
    edges: list[tuple[Mapper, Mapper]] = []
    reasons: dict[Mapper, list[str]] = {}
    for child in mappers:
        for ref in hierarchy_references(child):
            parent = ref.src.base_mapper
            if parent not in mappers or ref.post_update:
                continue
            edges.append((child, parent) if deleting else (parent, child))
            what = ref.prop.key if ref.prop is not None else "/".join(ref.dest_keys)
            pt, ct = parent._table_name, child._table_name
            if deleting:
                reasons.setdefault(parent, []).append(
                    f"{ct}.{what} rows referring to {pt} are deleted first")
            else:
                reasons.setdefault(child, []).append(
                    f"{ct}.{what} refers to {pt}: {pt} rows are saved first")
    order, cycles = topo.sort(sorted(mappers, key=_mrank), edges, _mrank)
    reason_of = {m: "; ".join(dict.fromkeys(reasons.get(m, []))) or "no dependency"
                 for m in order}
    if len(cache) >= _ORDER_CACHE_SIZE:
        cache.clear()
    cache[key] = (order, cycles, reason_of)
    return order, cycles, reason_of
