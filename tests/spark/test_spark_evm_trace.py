"""EVM clustering and bulk forward tracing on Spark equal the DuckDB engine on the simulated small world."""

from __future__ import annotations

import json
import math

import pytest

from chainsleuth.cluster import cluster_evm
from chainsleuth.cluster.evm import EvmHeuristics
from chainsleuth.errors import ChainsleuthError
from chainsleuth.spark import engine
from chainsleuth.trace import trace


def partition(rows) -> set[frozenset]:
    groups: dict = {}
    for address, cid in rows:
        groups.setdefault(cid, set()).add(address)
    return {frozenset(g) for g in groups.values()}


def test_evm_deposit_clusters_equal_duckdb_engine(stores, cli):
    """``cluster --chain ethereum --engine spark`` (both heuristics) stores what ``cluster_evm`` stores."""
    duck, via, root = stores
    want = cluster_evm(duck, "ethereum", EvmHeuristics(airdrop=True))
    db = via.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
    got = json.loads(cli("cluster", "--chain", "ethereum", "--airdrop", "--engine", "spark", db=db, lake=root))
    assert got["engine"] == "spark"
    assert want["deposit_addresses"] > 100 and want["clusters"] > 100 and want["largest"] >= 3
    for key in ("deposit_addresses", "addresses", "clusters", "largest", "links", "links_by_heuristic", "heuristics"):
        assert got[key] == want[key], key
    dep = "SELECT * EXCLUDE (chain) FROM deposit_addresses WHERE chain = 'ethereum' ORDER BY address, asset"
    assert via.execute(dep).fetchall() == duck.execute(dep).fetchall()
    q = "SELECT address, cluster_id, heuristic, evidence_tx FROM clusters WHERE chain = 'ethereum'"
    d, s = duck.execute(q).fetchall(), via.execute(q).fetchall()
    assert partition((a, c) for a, c, *_ in s) == partition((a, c) for a, c, *_ in d)
    assert sorted((a, h, e) for a, _, h, e in s) == sorted((a, h, e) for a, _, h, e in d)
    run = "SELECT heuristics, addresses, clusters, links FROM cluster_runs WHERE chain = 'ethereum' ORDER BY run_at DESC"
    assert via.execute(run).fetchone() == duck.execute(run).fetchone()


@pytest.fixture(scope="module")
def sources(stores, small_world) -> list[str]:
    """Many sources at once: every incident's ethereum addresses and 40 unlabelled senders."""
    _, via, _ = stores
    truth = json.loads((small_world / "truth.json").read_text())
    attackers = [a["address"] for i in truth["incidents"] for a in i["attacker_addresses"] if a["chain"] == "ethereum"]
    others = [r[0] for r in via.execute(
        "SELECT DISTINCT from_address FROM transfers WHERE chain = 'ethereum' AND from_address IS NOT NULL "
        "AND from_address NOT IN (SELECT address FROM tags) ORDER BY hash(from_address) LIMIT 40").fetchall()]
    return attackers + others


def test_bulk_trace_equals_duckdb_poison(stores, spark, sources):
    """Same store, same labels: DuckDB's forward poison trace (bridges not followed) and Spark's agree on
    every exit, edge and total; resting balances within float rounding of the DuckDB sweep."""
    _, via, root = stores
    want = trace(via, sources, "ethereum", model="poison", max_hops=6, follow_bridges=False).to_dict()
    got = engine.trace(via, sources, "ethereum", max_hops=6, lake_root=root, spark=spark).to_dict()
    # The world makes this a real test: multi-hop paths, every kind of exit, swaps, fees, money sent back.
    cats = {x["category"] for x in want["exits"]}
    assert {"exchange", "mixer", "bridge", "deposit"} <= cats, cats
    assert {e["kind"] for e in want["edges"]} >= {"transfer", "fee", "mixer", "bridge"}
    assert max(e["hop"] for e in want["edges"]) >= 2

    def exits(d):
        return sorted((x["address"], x["asset"], x["amount"], x["hop"], x["tx_hashes"], x["label"], x["category"],
                       x["entity"], x["via"], x["forwarded_to"]) for x in d["exits"])

    assert exits(got) == exits(want)
    for x, y in zip(sorted(want["exits"], key=lambda x: (x["address"], x["asset"])),
                    sorted(got["exits"], key=lambda x: (x["address"], x["asset"])), strict=True):
        assert (x["usd"] is None) == (y["usd"] is None) and math.isclose(x["usd"] or 0, y["usd"] or 0, rel_tol=1e-9)

    def edges(d):
        return sorted((e["tx_hash"], e["from"], e["to"] or "", e["asset"], e["amount"], e["hop"], e["kind"])
                      for e in d["edges"])

    assert edges(got) == edges(want)
    exact = ("source", "to_exits", "in_mixers", "in_services", "fees", "returned", "below_threshold")
    rows = {(r["asset"], k): r[k] for r in want["totals"]["by_asset"] for k in exact}
    assert {(r["asset"], k): r[k] for r in got["totals"]["by_asset"] for k in exact} == rows
    for x, y in zip(want["totals"]["by_asset"], got["totals"]["by_asset"], strict=True):
        assert math.isclose(int(x["resting"]), int(y["resting"]), rel_tol=1e-12)
    for k, v in want["totals"]["usd"].items():
        assert math.isclose(v, got["totals"]["usd"][k], rel_tol=1e-9, abs_tol=1e-6), k
    for k in ("hops", "iterations", "converged", "expansion_hops"):
        assert got["totals"][k] == want["totals"][k], k

    def resting(d):
        return {(r["address"], r["asset"]): (int(r["amount"]), r["hop_limited"], r["tx_hashes"]) for r in d["resting"]}

    r_want, r_got = resting(want), resting(got)
    assert r_got.keys() == r_want.keys()
    for key, (amount, limited, txs) in r_want.items():
        assert r_got[key][1:] == (limited, txs) and math.isclose(r_got[key][0], amount, rel_tol=1e-12), key


@pytest.mark.parametrize("model", ["haircut", "fifo"])
def test_bulk_trace_equals_duckdb_haircut_and_fifo(stores, spark, sources, model):
    """Haircut and FIFO (reach and windows on Spark, the DuckDB engine's sweep on the traced subgraph): the
    same exits, edges, resting funds and totals as DuckDB's trace; integer amounts within one unit of float
    rounding of the sweep (in practice: equal)."""
    _, via, root = stores
    want = trace(via, sources, "ethereum", model=model, max_hops=6, follow_bridges=False).to_dict()
    got = engine.trace(via, sources, "ethereum", model=model, max_hops=6, lake_root=root, spark=spark).to_dict()
    assert got["model"] == model
    # Taint conserved: fewer or partly tainted edges than under poison (else the model is poison in disguise).
    def amounts(d):
        return sorted((e["tx_hash"], e["from"], e["to"] or "", e["asset"], e["amount"]) for e in d["edges"])

    assert amounts(want) != amounts(trace(via, sources, "ethereum", model="poison", max_hops=6,
                                          follow_bridges=False).to_dict())

    def close(a, b) -> bool:  # exact integers from the same float sweep: equal up to rounding of the last unit
        return abs(int(a) - int(b)) <= max(1, abs(int(a)) * 1e-12)

    def keyed(rows, key, value):
        out: dict[tuple, int] = {}
        for r in rows:
            k = tuple(r[c] or "" for c in key)
            out[k] = out.get(k, 0) + int(r[value])
        return out

    for part, key in [("exits", ("address", "asset")), ("edges", ("tx_hash", "from", "to", "asset", "hop", "kind")),
                      ("resting", ("address", "asset"))]:
        w, g = keyed(want[part], key, "amount"), keyed(got[part], key, "amount")
        assert g.keys() == w.keys(), part
        assert all(close(w[k], g[k]) for k in w), part
    assert sorted((x["address"], x["hop"], x["tx_hashes"], x["category"]) for x in got["exits"]) == \
        sorted((x["address"], x["hop"], x["tx_hashes"], x["category"]) for x in want["exits"])
    for x, y in zip(want["totals"]["by_asset"], got["totals"]["by_asset"], strict=True):
        assert x["asset"] == y["asset"] and all(close(x[k], y[k]) for k in x if k not in ("chain", "asset", "symbol"))
    for k in ("hops", "iterations", "converged", "expansion_hops"):
        assert got["totals"][k] == want["totals"][k], k


def test_bulk_trace_refuses_what_it_does_not_compute(stores, spark, sources):
    _, via, root = stores
    for kwargs, word in [({"model": "lifo"}, "poison, haircut, fifo"), ({"direction": "backward"}, "forward"),
                         ({"min_value": 10.0}, "min-value")]:
        with pytest.raises(ChainsleuthError, match=word):
            engine.trace(via, sources, "ethereum", lake_root=root, spark=spark, **kwargs)
    with pytest.raises(ChainsleuthError, match="account chains"):
        engine.trace(via, ["bc1q3mls7c2saysukhqu2samcswe4lqtcskl4yamnk"], "bitcoin", lake_root=root, spark=spark)
