"""address_labels: one best label per address, from tags, deposit detection and cluster propagation."""

from __future__ import annotations

from chainsleuth.labels import address_labels
from chainsleuth.labels.resolve import PROPAGATION_DISCOUNT, describe_address
from chainsleuth.labels.tagstore import add_tag

A, B, C, D = (f"0x{n:040x}" for n in (1, 2, 3, 4))


def by_address(con, chain):
    t = address_labels(con, chain)
    assert t.column_names == ["address", "label", "category", "actor", "source", "via", "entity"]
    rows = t.to_pylist()
    assert len({r["address"] for r in rows}) == len(rows)
    return {r["address"]: r for r in rows}


def test_confidence_then_specificity_then_actor_fill(con):
    add_tag(con, A, "OFAC SDN", chain="ethereum", category="sanctioned", source="ofac", confidence=1.0)
    add_tag(con, A, "Lazarus group", category="hacker", actor="lazarusgroup", source="gs", confidence=0.95)
    add_tag(con, B, "Binance", chain="ethereum", category="exchange", actor="binance", confidence=0.9)
    add_tag(con, B, "Binance 14", chain="ethereum", category="hot_wallet", actor="binance", confidence=0.9)
    add_tag(con, B, "whale", chain="ethereum", category="user", confidence=0.9)
    add_tag(con, C, "other chain", chain="bitcoin", category="exchange", confidence=1.0)
    con.execute("INSERT INTO actors VALUES ('lazarusgroup', 'Lazarus Group', NULL, NULL, 'test')")
    labels = by_address(con, "ethereum")
    assert labels[A]["label"] == "OFAC SDN" and labels[A]["category"] == "sanctioned"
    assert labels[A]["actor"] == "lazarusgroup" and labels[A]["entity"] == "Lazarus Group"
    assert labels[B]["label"] == "Binance 14" and labels[B]["entity"] == "binance"
    assert C not in labels  # tagged on bitcoin only
    assert set(by_address(con, "polygon")) == {A}  # chain-less tags apply everywhere


def test_cluster_propagation_is_discounted_and_spares_deposits(con):
    add_tag(con, A, "Kraken", chain="bitcoin", category="exchange", actor="kraken", confidence=0.9)
    add_tag(con, B, "Samourai", chain="bitcoin", category="coinjoin", confidence=0.8)
    con.execute(
        "INSERT INTO clusters VALUES ('bitcoin', ?, 7, 'multi-input', 'tx1'), ('bitcoin', ?, 7, 'multi-input', 'tx1'),"
        "('bitcoin', ?, 8, 'multi-input', 'tx2'), ('bitcoin', ?, 8, 'multi-input', 'tx2')",
        [A, C, B, D],
    )
    labels = by_address(con, "bitcoin")
    assert labels[C]["via"] == "cluster" and labels[C]["entity"] == "kraken" and labels[C]["category"] == "exchange"
    cands = describe_address(con, C, "bitcoin")["chains"][0]["candidates"]
    assert abs(cands[0]["confidence"] - 0.9 * PROPAGATION_DISCOUNT) < 1e-9
    # CoinJoin participation says nothing about the owner: no propagation, and no single entity
    assert D not in labels and labels[B]["entity"] is None
    # a detected deposit address keeps its own label even inside a tagged cluster
    con.execute(
        "INSERT INTO deposit_addresses VALUES ('bitcoin', ?, ?, 'Kraken', 'kraken', 'BTC', 10, 10, 1, 1, NULL, NULL,"
        " ['tx9'], 0.8)",
        [C, A],
    )
    labels = by_address(con, "bitcoin")
    assert labels[C]["via"] == "deposit-heuristic" and labels[C]["category"] == "deposit"
