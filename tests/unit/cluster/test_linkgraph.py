"""The vectorised link graph behind UTXO clustering: numbering, exclusions, components and evidence, checked
against plain-Python union-find on random links."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chainsleuth.cluster.components import linked_components
from chainsleuth.cluster.linkgraph import HEURISTICS, _flat, _lookup, evidence, read_links


def union_find(links: list[tuple[str, str]]) -> set[frozenset[str]]:
    """Reference partition of the addresses linked by (tx, address) pairs: one owner per transaction."""
    parent: dict[str, str] = {}

    def find(a: str) -> str:
        while parent.setdefault(a, a) != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    first: dict[str, str] = {}
    for tx, a in links:
        parent[find(a)] = find(first.setdefault(tx, a))
    groups: dict[str, set[str]] = {}
    for a in parent:
        groups.setdefault(find(a), set()).add(a)
    return {frozenset(g) for g in groups.values()}


def graph_of(links, excluded=(), change=(), id_step=1):
    """read_links on an in-memory table of links; ``id_step`` spreads the link ids (sparse row ids)."""
    con = duckdb.connect()
    rows = pa.table({
        "tx_hash": pa.array([t for t, _ in links] + [t for t, _ in change], pa.string()),
        "address": pa.array([a for _, a in links] + [a for _, a in change], pa.string()),
        "link": pa.array([i * id_step for i in range(len(links))] + [-1 - i for i in range(len(change))], pa.int64()),
    })
    con.register("l", rows)
    con.execute("CREATE TABLE x (tx_hash VARCHAR)")
    if excluded:
        con.executemany("INSERT INTO x VALUES (?)", [[t] for t in excluded])
    return read_links(con, "SELECT * FROM l", {}, "x" if excluded else None)


def partition_of(g) -> set[frozenset[str]]:
    rep = np.full(len(g.tx_hashes), -1, dtype=np.int32)
    rep[g.tx] = g.address_of_link
    labels = linked_components(g.offsets, rep[g.tx])
    names = g.addresses.to_pylist()
    groups: dict[int, set[str]] = {}
    for i, lab in enumerate(labels):
        if g.offsets[i + 1] > g.offsets[i]:  # addresses left without links are not part of the graph
            groups.setdefault(int(lab), set()).add(names[i])
    return {frozenset(v) for v in groups.values()}


links_strategy = st.lists(
    st.tuples(st.sampled_from([f"t{i}" for i in range(12)]), st.sampled_from([f"a{i}" for i in range(15)])),
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(links=links_strategy, step=st.sampled_from([1, 7, 10**9]))
def test_components_equal_union_find(links, step):
    """Any links, dense or sparse link ids (the sort fallback): the partition union-find gives."""
    assert partition_of(graph_of(links, id_step=step)) == union_find(links)


@settings(max_examples=40, deadline=None)
@given(links=links_strategy, dropped=st.sets(st.sampled_from([f"t{i}" for i in range(12)]), max_size=4),
       step=st.sampled_from([1, 10**9]))
def test_excluded_transactions_link_nothing(links, dropped, step):
    g = graph_of(links, excluded=sorted(dropped), id_step=step)
    assert partition_of(g) == union_find([(t, a) for t, a in links if t not in dropped])
    assert len(g.tx) == sum(t not in dropped for t, _ in links)
    assert not set(g.tx_hashes.to_pylist()) & dropped


def test_evidence_prefers_a_co_spend_then_change():
    links = [("t1", "a"), ("t1", "b"), ("t2", "b"), ("t2", "b"), ("t3", "c"), ("t4", "d")]
    g = graph_of(links, change=[("t3", "e")])
    ev, code = evidence(g)
    names, hashes = g.addresses.to_pylist(), g.tx_hashes.to_pylist()
    got = {names[i]: (hashes[ev[i]] if ev[i] >= 0 else None, HEURISTICS[code[i]]) for i in range(len(names))}
    assert got["a"] == ("t1", "multi-input")
    assert got["b"] == ("t1", "multi-input")  # t2 spends b twice: one owner, links nothing
    assert got["c"] == ("t3", "change") and got["e"] == ("t3", "change")
    assert got["d"] == (None, "root")
    assert partition_of(g) == {frozenset("ab"), frozenset("ce"), frozenset("d")}


def test_no_links():
    g = graph_of([])
    assert len(g.addresses) == 0 and len(g.tx) == 0 and partition_of(g) == set()
    ev, code = evidence(g)
    assert len(ev) == 0 and len(code) == 0


@settings(max_examples=60, deadline=None)
@given(lists=st.lists(st.lists(st.integers(-5, 10**12), max_size=4), max_size=12),
       cuts=st.lists(st.integers(0, 12), max_size=3), large=st.booleans())
def test_flat_reads_any_chunking(lists, cuts, large):
    """DuckDB returns a chunk per thread; slices and large lists too: the same offsets and values."""
    typ = pa.large_list(pa.int64()) if large else pa.list_(pa.int64())
    whole = pa.array(lists, typ)
    bounds = sorted({0, len(lists), *(min(c, len(lists)) for c in cuts)})
    chunked = pa.chunked_array([whole.slice(a, b - a) for a, b in zip(bounds, bounds[1:], strict=False)], typ)
    offsets, values = _flat(chunked)
    assert offsets.tolist() == np.cumsum([0] + [len(x) for x in lists]).tolist()
    assert values.tolist() == [v for x in lists for v in x]


@settings(max_examples=100, deadline=None)
@example(words=["a", "b", "c", "d"], cuts=[2], picks=[3, 0, -1, 2, 1], ascending=False)
@given(words=st.lists(st.text(max_size=3), max_size=10), cuts=st.lists(st.integers(0, 10), max_size=3),
       picks=st.lists(st.integers(-1, 9), max_size=15), ascending=st.booleans())
def test_lookup_equals_take(words, cuts, picks, ascending):
    """Dictionary columns over the chunks equal a plain take, nulls where the index is -1; ascending indices
    (addresses kept in order) are cut at the chunks, others use the chunks concatenated."""
    values = pa.array(words, pa.string())
    bounds = sorted({0, len(words), *(min(c, len(words)) for c in cuts)})
    chunked = pa.chunked_array([values.slice(a, b - a) for a, b in zip(bounds, bounds[1:], strict=False)],
                               pa.string())
    idx = np.array([p for p in picks if p < len(words)], dtype=np.int64)
    if ascending:
        idx = np.sort(idx)
    got = _lookup(chunked, idx)
    assert len(got) == len(idx)
    assert got.cast(pa.string()).to_pylist() == [words[i] if i >= 0 else None for i in idx]
    con = duckdb.connect()  # and DuckDB reads them as the strings
    con.register("t", pa.table({"v": got}))
    assert [r[0] for r in con.execute("SELECT v FROM t").fetchall()] == [words[i] if i >= 0 else None for i in idx]


def test_lookup_past_the_string_offset_limit(monkeypatch):
    """Hashes past 2 GiB (about 33 million transactions) cannot share one ``string`` array: they are concatenated
    as ``large_string`` (the limit lowered here so that a few strings pass it)."""
    import chainsleuth.cluster.linkgraph as linkgraph

    monkeypatch.setattr(linkgraph, "STRING_BYTES_LIMIT", 16)
    chunked = pa.chunked_array([pa.array(["aaaaaaaa", "bbbbbbbb"]), pa.array(["cccccccc", "dddddddd"])])
    got = _lookup(chunked, np.array([3, 0, -1, 2]))
    assert got.type.value_type == pa.large_string()
    con = duckdb.connect()
    con.register("t", pa.table({"v": got}))
    assert [r[0] for r in con.execute("SELECT v FROM t").fetchall()] == ["dddddddd", "aaaaaaaa", None, "cccccccc"]
