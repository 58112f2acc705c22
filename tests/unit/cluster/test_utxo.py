"""UTXO clustering: multi-input, change signals, CoinJoin / post-mix / conflict exclusions, and the
multi-input partition checked against GraphSense's Rust implementation."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from chainsleuth.cluster import UtxoHeuristics, cluster_utxo
from chainsleuth.labels.tagstore import add_tag

P, S = "witness_v0_keyhash", "scripthash"


def partition(con, chain="bitcoin") -> set[frozenset[str]]:
    rows = con.execute("SELECT cluster_id, address FROM clusters WHERE chain = ?", [chain]).fetchall()
    groups: dict[int, set[str]] = {}
    for cid, a in rows:
        groups.setdefault(cid, set()).add(a)
    return {frozenset(g) for g in groups.values()}


def test_multi_input_with_evidence(con, utxo):
    t1 = utxo.tx([("a1", 5, P), ("a2", 7, P)], [("x", 11, P)])
    t2 = utxo.tx([("a2", 3, P), ("a3", 4, P)], [("y", 6, P)])
    utxo.tx([("b1", 9, P)], [("z", 8, P)])
    r = cluster_utxo(con, "bitcoin", UtxoHeuristics(change=False))
    assert partition(con) == {frozenset({"a1", "a2", "a3"})}
    assert r["clusters"] == 1 and r["largest"] == 3
    ev = dict(con.execute("SELECT address, evidence_tx FROM clusters").fetchall())
    assert ev["a1"] == t1 and ev["a3"] == t2 and ev["a2"] in (t1, t2)
    assert set(con.execute("SELECT DISTINCT heuristic FROM clusters").fetchall()) == {("multi-input",)}


def test_equal_output_coinjoin_is_not_merged(con, utxo):
    cj = utxo.tx([(f"p{i}", 1_000_500, P) for i in range(5)], [(f"m{i}", 1_000_000, P) for i in range(5)])
    batch = utxo.tx([("ex1", 9_000_000, P), ("ex2", 9_000_000, P)], [(f"u{i}", 1_000_000, P) for i in range(2)])
    r = cluster_utxo(con, "bitcoin")
    assert partition(con) == {frozenset({"ex1", "ex2"})}  # only 2 equal outputs: an ordinary payout
    assert r["excluded"] == {"coinjoin:equal-outputs": 1}
    row = con.execute("SELECT tx_hash, reason, equal_outputs, denomination FROM cluster_exclusions").fetchall()
    assert row == [(cj, "coinjoin:equal-outputs", 5, 1_000_000)] and batch != cj
    cluster_utxo(con, "bitcoin", UtxoHeuristics(coinjoin_exclusion=False, exclude_post_mix=False))
    assert frozenset({f"p{i}" for i in range(5)}) in partition(con)  # switchable


def test_post_mix_spend_and_listed_coinjoin(con, utxo):
    cj = utxo.tx([(f"p{i}", 1_000_500, P) for i in range(3)], [(f"m{i}", 1_000_000, P) for i in range(3)])
    utxo.tx([("m0", 1_000_000, P), ("fresh", 5_000, P)], [("shop", 900_000, P)], spends=[(cj, 0), None])
    listed = utxo.tx([("l1", 5, P), ("l2", 5, P)], [("o", 9, P)])
    r = cluster_utxo(con, "bitcoin", UtxoHeuristics(coinjoin_txs=[listed]))
    assert partition(con) == set()
    assert r["excluded"] == {"coinjoin:equal-outputs": 1, "post-mix-spend": 1, "coinjoin:listed": 1}


def test_entity_conflict_guard(con, utxo):
    add_tag(con, "k1", "Kraken", chain="bitcoin", category="exchange", actor="kraken")
    add_tag(con, "b1", "Bitstamp", chain="bitcoin", category="exchange", actor="bitstamp")
    add_tag(con, "k2", "Kraken 2", chain="bitcoin", category="exchange", actor="kraken")
    utxo.tx([("k1", 5, P), ("b1", 5, P)], [("o", 9, P)])
    utxo.tx([("k1", 5, P), ("k2", 5, P)], [("o2", 9, P)])
    r = cluster_utxo(con, "bitcoin")
    assert partition(con) == {frozenset({"k1", "k2"})} and r["excluded"] == {"entity-conflict": 1}


def _change_world(utxo, payment: int, change: int, pay_type=S):
    utxo.tx([("seen", 10**8, P)], [("payee", 10**8 - 1000, pay_type)])  # the payee address was used before
    t = utxo.tx([("in1", 10**8, P), ("in2", 10**8, P)], [("payee", payment, pay_type), ("chg", change, P)])
    return t


@pytest.mark.parametrize(
    "payment, change, pay_type, signals, linked",
    [
        (50_000_000, 149_987_654, S, ("script_type",), True),   # change has the inputs' script type
        (50_000_000, 149_987_654, P, ("round",), True),         # round payment, odd change
        (51_230_000, 148_757_654, P, ("decimals",), True),      # 4 vs 8 significant decimals
        (51_234_567, 148_753_087, P, ("script_type", "round", "decimals"), False),  # no second signal
        (50_000_000, 149_987_654, P, ("script_type",), False),  # same type everywhere: no script signal
    ],
)
def test_change_needs_a_second_signal(con, utxo, payment, change, pay_type, signals, linked):
    t = _change_world(utxo, payment, change, pay_type)
    r = cluster_utxo(con, "bitcoin", UtxoHeuristics(multi_input=False, change_signals=signals))
    if linked:
        assert r["change_links"] == 1
        rows = dict(con.execute("SELECT address, heuristic FROM clusters").fetchall())
        assert rows == {"in1": "change", "chg": "change"}
        assert con.execute("SELECT DISTINCT evidence_tx FROM clusters").fetchall() == [(t,)]
    else:
        assert r["change_links"] == 0 and partition(con) == set()


def test_change_not_one_time_is_ignored(con, utxo):
    utxo.tx([("seen", 10**8, P)], [("payee", 10**8 - 1000, S), ("chg", 5, P)])  # chg received before
    _change_world(utxo, 50_000_000, 149_987_654)
    assert cluster_utxo(con, "bitcoin", UtxoHeuristics(multi_input=False))["change_links"] == 0


def test_same_partition_as_graphsense_rust_clustering(con, utxo):
    """Peer oracle: on random multi-input data our partition equals gs_clustering's exactly."""
    gs_clustering = pytest.importorskip("gs_clustering")
    rng = np.random.default_rng(42)
    n_addr, txs = 1500, []
    for _ in range(300):
        k = int(rng.integers(1, 5))
        txs.append([f"addr{int(a)}" for a in rng.integers(0, n_addr, k)])
    rows = pa.table({
        "tx_hash": [f"tx{i}" for i, t in enumerate(txs) for _ in t],
        "input_index": [j for t in txs for j in range(len(t))],
        "address": [a for t in txs for a in t],
    })
    con.register("rows", rows)
    con.execute("INSERT INTO utxo_inputs SELECT 'bitcoin', tx_hash, input_index, 1, TIMESTAMP '2024-01-01', "
                "'f' || tx_hash, input_index, address, 1000 FROM rows")
    cluster_utxo(con, "bitcoin", UtxoHeuristics(change=False, coinjoin_exclusion=False, exclude_post_mix=False,
                                                 exclude_entity_conflicts=False))
    ids = {a: i + 1 for i, a in enumerate(sorted({a for t in txs for a in t}))}
    c = gs_clustering.Clustering(len(ids))
    c.process_transactions_arrow(pa.array([[ids[a] for a in t] for t in txs], type=pa.list_(pa.uint32())))
    m = pa.Table.from_batches([c.get_mapping_min(True)]).to_pylist()
    names = {i: a for a, i in ids.items()}
    theirs: dict[int, set[str]] = {}
    for r in m:
        theirs.setdefault(r["cluster_id"], set()).add(names[r["address_id"]])
    ours = partition(con)
    assert len(ours) > 10
    assert ours == {frozenset(g) for g in theirs.values()}
