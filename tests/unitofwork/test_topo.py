"""unitofwork.topo.sort: dependency order, deterministic ties, cycles reported."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from datamapper.unitofwork import topo


def ident(n):
    return n


def test_edges_order_nodes_whatever_the_input_order():
    edges = [("b", "c"), ("a", "b")]
    for nodes in (["a", "b", "c"], ["c", "b", "a"], ["b", "c", "a"]):
        assert topo.sort(nodes, edges, ident) == (["a", "b", "c"], [])


def test_free_nodes_come_out_by_rank():
    # z must precede a; among the free nodes the lowest rank goes first
    order, cycles = topo.sort(["a", "m", "z"], [("z", "a")], ident)
    assert order == ["m", "z", "a"]
    assert cycles == []
    # rank is the caller's: reversed rank, reversed ties
    order, _c = topo.sort(["a", "m", "z"], [], lambda n: -ord(n))
    assert order == ["z", "m", "a"]


def test_a_cycle_is_reported_and_placed_as_one_block():
    nodes = ["a", "b", "c", "d"]
    edges = [("a", "b"), ("b", "c"), ("c", "b"), ("c", "d")]
    order, cycles = topo.sort(nodes, edges, ident)
    assert cycles == [{"b", "c"}]
    assert order == ["a", "b", "c", "d"]


def test_a_self_loop_is_a_cycle():
    order, cycles = topo.sort(["a", "b"], [("a", "a"), ("a", "b")], ident)
    assert order == ["a", "b"]
    assert cycles == [{"a"}]


def test_edges_to_unknown_nodes_and_duplicate_nodes_are_ignored():
    order, cycles = topo.sort(["b", "a", "b"], [("x", "a"), ("b", "a"), ("a", "y")], ident)
    assert order == ["b", "a"]
    assert cycles == []


def test_two_separate_cycles():
    edges = [("a", "b"), ("b", "a"), ("c", "d"), ("d", "c"), ("b", "c")]
    order, cycles = topo.sort(["d", "c", "b", "a"], edges, ident)
    assert order == ["a", "b", "c", "d"]
    assert sorted(map(sorted, cycles)) == [["a", "b"], ["c", "d"]]


@st.composite
def dags(draw):
    n = draw(st.integers(min_value=0, max_value=25))
    nodes = list(range(n))
    pairs = [(a, b) for a in nodes for b in nodes if a < b]
    edges = draw(st.lists(st.sampled_from(pairs), max_size=60)) if pairs else []
    # hide the numbering: the sort must not rely on it
    labels = draw(st.permutations(nodes))
    return [labels[i] for i in nodes], [(labels[a], labels[b]) for a, b in edges]


@given(dags(), st.randoms(use_true_random=False))
def test_any_dag_is_sorted_completely_and_deterministically(dag, rnd: random.Random):
    nodes, edges = dag
    order, cycles = topo.sort(nodes, edges, ident)
    assert cycles == []
    assert sorted(order) == sorted(nodes)
    pos = {n: i for i, n in enumerate(order)}
    assert all(pos[a] < pos[b] for a, b in edges)
    shuffled_nodes, shuffled_edges = list(nodes), list(edges)
    rnd.shuffle(shuffled_nodes)
    rnd.shuffle(shuffled_edges)
    assert topo.sort(shuffled_nodes, shuffled_edges, ident) == (order, [])


@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), max_size=40))
def test_with_cycles_every_node_comes_out_once_and_acyclic_edges_hold(edges):
    nodes = list(range(13))
    order, cycles = topo.sort(nodes, edges, ident)
    assert sorted(order) == nodes
    comp = {n: i for i, c in enumerate(cycles) for n in c}
    pos = {n: i for i, n in enumerate(order)}
    for a, b in edges:
        if a == b:
            assert a in comp
        elif comp.get(a) is None or comp.get(a) != comp.get(b):
            assert pos[a] < pos[b]
    # the nodes of one cycle are contiguous
    for c in cycles:
        idx = sorted(pos[n] for n in c)
        assert idx == list(range(idx[0], idx[0] + len(idx)))


def test_scc_finds_components_in_rank_order():
    succ = {1: {2}, 2: {1, 3}, 3: set(), 4: {4}}
    comps = topo.scc([4, 3, 2, 1], succ, ident)
    assert sorted(map(sorted, comps)) == [[1, 2], [3], [4]]
    # (components come out when their root is finished: 3 before the 1-2 cycle)
    assert [sorted(c) for c in comps][:2] == [[3], [1, 2]]
