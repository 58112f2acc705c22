"""Spark clustering and exposure equal the DuckDB engine's exactly on the simulated small world, and the
distributed connected components equal scipy's on random graphs."""

from __future__ import annotations

import math

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as scipy_components

from chainsleuth.cluster import cluster_utxo
from chainsleuth.screen import screen, screen_chain
from chainsleuth.spark import engine
from chainsleuth.spark.cluster import connected_components


def partition(pairs) -> set[frozenset]:
    groups: dict = {}
    for node, comp in pairs:
        groups.setdefault(comp, set()).add(node)
    return {frozenset(g) for g in groups.values()}


def test_large_star_small_star_equals_scipy(spark):
    """Three random graphs (a long path - the worst case for label propagation - plus random edges and
    self-loops; one with no random edges), laid side by side with disjoint node ids so that ONE distributed
    run covers them all: each graph's components must be scipy's, named by their smallest node."""
    a_all, b_all, wants = [], [], []
    for offset, (seed, n, m) in zip((0, 10_000, 20_000), [(1, 400, 300), (2, 300, 600), (3, 50, 0)], strict=True):
        rng = np.random.default_rng(seed)
        path = np.arange(0, n // 2 - 1)
        a = np.concatenate([path, rng.integers(0, n, m), [7, 7]])
        b = np.concatenate([path + 1, rng.integers(0, n, m), [7, 9]])
        _, labels = scipy_components(coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n)), directed=False)
        touched = {int(x) for x, y in zip(a, b, strict=True) if x != y} | \
            {int(y) for x, y in zip(a, b, strict=True) if x != y}
        wants.append(partition((offset + i, labels[i]) for i in touched))
        a_all.append(a + offset)
        b_all.append(b + offset)
    a, b = np.concatenate(a_all), np.concatenate(b_all)
    edges = spark.createDataFrame([(int(x), int(y)) for x, y in zip(a, b, strict=True)], "src long, dst long")
    got = [(r["node"], r["component"]) for r in connected_components(edges, checkpoint_every=2).collect()]
    assert partition(got) == set().union(*wants)
    assert len(got) == sum(len(g) for w in wants for g in w)  # every node with an edge, once
    for node, comp in got:  # the component id is its smallest node
        assert comp == min(next(g for w in wants for g in w if node in g))


def test_utxo_clusters_equal_duckdb_engine(stores, spark):
    duck, via, root = stores
    want = cluster_utxo(duck, "bitcoin")
    got = engine.cluster(via, "bitcoin", lake_root=root, spark=spark)
    q = "SELECT address, cluster_id, heuristic FROM clusters WHERE chain = 'bitcoin'"
    d, s = duck.execute(q).fetchall(), via.execute(q).fetchall()
    assert want["clusters"] > 100 and want["largest"] >= 10  # a non-trivial partition
    assert partition((a, c) for a, c, _ in s) == partition((a, c) for a, c, _ in d)
    assert {(a, h) for a, _, h in s} == {(a, h) for a, _, h in d}
    for key in ("addresses", "clusters", "largest", "links", "change_links", "excluded"):
        assert got[key] == want[key], key
    # reasons are a string_agg(DISTINCT ...) whose order neither engine fixes: compare them as sets
    ex = ("SELECT tx_hash, list_sort(string_split(reason, ',')), inputs, equal_outputs, denomination "
          "FROM cluster_exclusions ORDER BY 1")
    assert via.execute(ex).fetchall() == duck.execute(ex).fetchall()


def _same_result(x, y) -> None:
    dx, dy = x.to_dict(), y.to_dict()
    assert dx["address"] == dy["address"]
    assert dx["risk"] == dy["risk"], dx["address"]
    assert math.isclose(dx["received"]["value"], dy["received"]["value"], rel_tol=1e-9)
    assert dx["received"]["transfers"] == dy["received"]["transfers"]
    for kind, e in dx["exposure"].items():
        for k, v in e.items():
            assert math.isclose(v, dy["exposure"][kind][k], rel_tol=1e-9, abs_tol=1e-15), (dx["address"], kind, k)
    key = ["address", "hop", "risk_type", "via", "transfers", "label", "category"]
    assert [[s[k] for k in key] for s in dx["sources"]] == [[s[k] for k in key] for s in dy["sources"]]
    for a, b in zip(dx["sources"], dy["sources"], strict=True):
        assert math.isclose(a["share"], b["share"], rel_tol=1e-9)
        # Evidence: the same largest flows (ties may be listed in another order).
        assert sorted((e["value"], e["amount"]) for e in a["evidence"]) == \
            sorted((e["value"], e["amount"]) for e in b["evidence"])


def test_exposure_of_every_address_equals_duckdb_engine(stores, spark):
    """Ethereum: every receiving address of the chain (screen --all) on both engines."""
    duck, via, root = stores
    got = engine.screen_all(via, "ethereum", lake_root=root, spark=spark, hops=3)
    want = screen_chain(duck, "ethereum", hops=3)
    assert len(want) == duck.execute(
        "SELECT count(DISTINCT to_address) FROM transfers WHERE chain = 'ethereum' AND amount > 0 "
        "AND from_address <> to_address").fetchone()[0] - duck.execute(  # less those that got only unpriced tokens
        "SELECT count(*) FROM (SELECT to_address FROM transfers t LEFT JOIN assets a USING (chain, asset) "
        "LEFT JOIN prices p ON p.symbol = a.symbol AND p.day = CAST(t.block_time AS DATE) "
        "WHERE t.chain = 'ethereum' AND amount > 0 AND from_address <> to_address "
        "GROUP BY 1 HAVING count(p.usd) = 0)").fetchone()[0]
    assert sum(r.level != "low" for r in want) >= 10  # the world's incidents and mixers reach many addresses
    assert {s["hop"] for r in want for s in r.sources} >= {1, 2}  # direct and indirect exposure
    for x, y in zip(want, got, strict=True):
        _same_result(x, y)


def test_exposure_of_some_addresses_equals_duckdb_engine(stores, spark):
    """Bitcoin: every 5th receiving address, screened by the Spark engine over the whole chain and by the
    DuckDB engine over the addresses' backward cone."""
    duck, via, root = stores
    everyone = [r[0] for r in duck.execute(
        "SELECT DISTINCT address FROM utxo_outputs WHERE chain = 'bitcoin' AND value > 0 ORDER BY 1").fetchall()]
    addresses = everyone[::5]
    got = engine.screen_all(via, "bitcoin", addresses, lake_root=root, spark=spark, hops=3)
    want = screen(duck, addresses, "bitcoin", hops=3)
    assert [r.address for r in got] == addresses
    for x, y in zip(want, got, strict=True):
        _same_result(x, y)
