"""EVM clustering: deposit addresses (Victor 2020) and airdrop multi-participation; the entity report."""

from __future__ import annotations

import pytest

from chainsleuth.cluster import EvmHeuristics, cluster_chain, cluster_evm
from chainsleuth.cluster.entity import entity
from chainsleuth.errors import NotFoundError
from chainsleuth.labels import address_labels
from chainsleuth.labels.tagstore import add_tag

E = 10**18


def addr(n: int) -> str:
    return "0x" + f"{n:040x}"


HOT = addr(1000)


@pytest.fixture
def world(con, evm):
    add_tag(con, HOT, "Binance 14", chain="ethereum", category="hot_wallet", actor="binance", confidence=0.9)
    con.execute("INSERT INTO actors VALUES ('binance', 'Binance', 'exchange', NULL, 'test')")
    w = {"D1": addr(1), "u1a": addr(11), "u1b": addr(12), "D2": addr(2), "u2": addr(21), "N": addr(3),
         "u3": addr(31), "M": addr(4)}
    w["tx"] = {
        "u1a": evm.send(w["u1a"], w["D1"], 2 * E),
        "u1b": evm.send(w["u1b"], w["D1"], 1 * E),
        "sweep1": evm.send(w["D1"], HOT, 3 * E - 10**15),           # received - gas
        "u2": evm.send(w["u2"], w["D2"], 500_000_000, "0xdac17f958d2ee523a2206206994597c13d831ec7"),
        "sweep2": evm.send(w["D2"], HOT, 500_000_000, "0xdac17f958d2ee523a2206206994597c13d831ec7"),
    }
    evm.send(w["u3"], w["N"], 4 * E)
    evm.send(w["N"], HOT, 2 * E)                                      # keeps half: not a deposit
    evm.send(w["u3"], w["M"], E)
    evm.send(w["M"], HOT, E // 2)
    evm.send(w["M"], addr(99), E // 2 - 10**15)                       # also pays someone else: not a deposit
    return w


def test_deposit_addresses_and_customer_clusters(con, world):
    r = cluster_chain(con, "ethereum")
    assert r["deposit_addresses"] == 2 and r["links_by_heuristic"] == {"deposit-address": 3}
    dep = {a: (ex, ev) for a, ex, ev in con.execute(
        "SELECT address, exchange, evidence_txs FROM deposit_addresses").fetchall()}
    assert set(dep) == {world["D1"], world["D2"]}
    assert dep[world["D1"]] == ("Binance", [world["tx"]["sweep1"]])
    clusters = {}
    for a, cid, h, ev in con.execute("SELECT address, cluster_id, heuristic, evidence_tx FROM clusters").fetchall():
        clusters.setdefault(cid, set()).add(a)
        assert h == "deposit-address" and ev is not None
    assert {frozenset(c) for c in clusters.values()} == {
        frozenset({world["D1"], world["u1a"], world["u1b"]}), frozenset({world["D2"], world["u2"]})}
    labels = {x["address"]: x for x in address_labels(con, "ethereum").to_pylist()}
    assert labels[world["D1"]]["category"] == "deposit" and labels[world["D1"]]["via"] == "deposit-heuristic"
    assert labels[world["D1"]]["entity"] == "Binance"
    assert world["N"] not in labels and world["M"] not in labels and world["u1a"] not in labels


def test_deposit_tolerance_is_a_parameter(con, world):
    r = cluster_evm(con, "ethereum", EvmHeuristics(max_loss=0.6, airdrop=False))
    assert r["deposit_addresses"] == 3  # N (forwarded 50 %) now counts


def test_airdrop_farmers_are_clustered_with_their_collector(con, evm):
    token = "0x" + "ab" * 20
    distributor, farmer = addr(500), addr(600)
    recipients = [addr(700 + i) for i in range(12)]
    for r in recipients:
        evm.send(distributor, r, 100, token)
    for r in recipients[:4]:
        evm.send(r, farmer, 100, token)
    evm.send(recipients[5], addr(601), 100, token)  # a lone seller: not clustered
    res = cluster_evm(con, "ethereum", EvmHeuristics(deposit=False, airdrop=True))
    assert res["links_by_heuristic"] == {"airdrop": 4}
    members = {a for (a,) in con.execute("SELECT address FROM clusters WHERE heuristic = 'airdrop'").fetchall()}
    assert members == set(recipients[:4]) | {farmer}
    assert cluster_evm(con, "ethereum", EvmHeuristics(deposit=False, airdrop=True, min_airdrop_recipients=20))["addresses"] == 0


def test_entity_report(con, world, evm):
    cluster_chain(con, "ethereum")
    e = entity(con, world["u1a"], "ethereum")
    assert e["cluster"]["size"] == 3 and e["cluster"]["heuristics"] == {"deposit-address": 3}
    assert e["transfers"] == 3  # two payments in, one sweep out
    bal = {b["asset"]: b["amount"] for b in e["balances"]}
    # payments inside the cluster cancel out; only the sweep leaves (the customer's own funding predates
    # this ledger, hence negative): exact wei, no float
    assert bal["ETH"] == -(3 * E - 10**15)
    top = e["counterparties"][0]
    assert top["address"] == HOT and top["sent"] == 3 * E - 10**15 and top["label"] == "Binance 14"
    d = entity(con, world["D1"], "ethereum")
    assert d["deposit_of"]["exchange"] == "Binance" and d["entity"] == "Binance"
    with pytest.raises(NotFoundError):
        entity(con, addr(123456), "ethereum")
