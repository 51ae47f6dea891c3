"""Deterministic topological sort.

Callers: the flush planner.  Nodes come out in dependency order; among nodes
that are free at the same time, the one with the lowest *rank* (a stable,
content-derived sort key supplied by the caller) goes first, so the same
input always gives the same order.  Nodes in cycles are reported, not
dropped.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable, Iterable
from typing import Any, TypeVar

N = TypeVar("N", bound=Hashable)


def sort(
    nodes: Iterable[N],
    edges: Iterable[tuple[N, N]],
    rank: Callable[[N], Any],
) -> tuple[list[N], list[set[N]]]:
    """Return (ordered nodes, cycles).

    ``edges`` are (before, after) pairs.  When cycles exist, the nodes of each
    strongly connected component with more than one node (or a self loop)
    are returned as a cycle and also placed in the order as a block where the
    component as a whole becomes free.
    """
    nodes = list(dict.fromkeys(nodes))
    succ: dict[N, set[N]] = {n: set() for n in nodes}
    for a, b in edges:
        if a in succ and b in succ:
            succ[a].add(b)
    comps = scc(nodes, succ, rank)
    comp_of: dict[N, int] = {}
    for i, c in enumerate(comps):
        for n in c:
            comp_of[n] = i
    csucc: dict[int, set[int]] = {i: set() for i in range(len(comps))}
    indeg = [0] * len(comps)
    for a, bs in succ.items():
        for b in bs:
            ca, cb = comp_of[a], comp_of[b]
            if ca != cb and cb not in csucc[ca]:
                csucc[ca].add(cb)
                indeg[cb] += 1
    crank = [min(rank(n) for n in c) for c in comps]
    heap = [(crank[i], i) for i in range(len(comps)) if indeg[i] == 0]
    heapq.heapify(heap)
    order: list[N] = []
    while heap:
        _r, i = heapq.heappop(heap)
        order.extend(sorted(comps[i], key=rank))
        for j in csucc[i]:
            indeg[j] -= 1
            if indeg[j] == 0:
                heapq.heappush(heap, (crank[j], j))
    cycles = [set(c) for c in comps if len(c) > 1 or any(n in succ[n] for n in c)]
    return order, cycles


def scc(nodes: list[N], succ: dict[N, set[N]], rank: Callable[[N], Any]) -> list[list[N]]:
    """Tarjan's strongly connected components, iterative, in a deterministic order."""
    index: dict[N, int] = {}
    low: dict[N, int] = {}
    on_stack: set[N] = set()
    stack: list[N] = []
    out: list[list[N]] = []
    counter = 0
    for root in sorted(nodes, key=rank):
        if root in index:
            continue
        work: list[tuple[N, list[N]]] = [(root, sorted(succ[root], key=rank))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            if children:
                w = children.pop(0)
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, sorted(succ[w], key=rank)))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    u = work[-1][0]
                    low[u] = min(low[u], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    out.append(comp)
    return out
