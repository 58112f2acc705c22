"""Real data: GraphSense's PayJoin fixture and the Samourai Whirlpool addresses of the GraphSense TagPacks."""

from __future__ import annotations

import json

import pytest

from chainsleuth.cluster import UtxoHeuristics, cluster_utxo
from chainsleuth.labels import address_labels
from chainsleuth.labels.importer import import_file

P2SH = "scripthash"  # P2SH-SegWit, as on chain


def _payjoin(shared_data) -> dict:
    path = shared_data / "graphsense-lib-fixtures" / "tests" / "testfiles" / "gs_files" / "payjoin_real_ids.json"
    return json.loads(path.read_text())


def _load_payjoin(utxo, fx) -> tuple[str, dict[str, str], list[str]]:
    """The PayJoin transaction (block 557792) with its real addresses, inputs spending their real funding
    transactions. The fixture gives no amounts; every output gets 1 sat, which no heuristic here reads."""
    ins = [a for a in fx["addresses"] if a["side"] == "input"]
    outs = [a for a in fx["addresses"] if a["side"] == "output"]
    funding = [t for t in fx["txs"] if t["label"].startswith("upstream")]
    payjoin = next(t["id"] for t in fx["txs"] if t["label"] == "PayJoin tx")
    for f, a in zip(funding, ins, strict=True):
        assert a["label"].split()[0] in f["label"]  # "upstream funding tx for in0" funds in0
        utxo.tx([(f"prev-{a['id']}", 2, P2SH)], [(a["id"], 1, P2SH)], txid=f["id"])
    utxo.tx(
        [(a["id"], 1, P2SH) for a in ins], [(o["id"], 1, P2SH) for o in outs], txid=payjoin,
        spends=[(f["id"], 0) for f in funding],
    )
    sides = {a["id"]: ("sender" if "sender" in a["label"] else "receiver") for a in ins}
    joinmarket = [t["id"] for t in funding if "JoinMarket" in t["label"]]
    return payjoin, sides, joinmarket


def test_payjoin_inputs_are_not_merged(con, utxo, shared_data):
    """PayJoin (BIP78) breaks common-input-ownership by design: in0-in2 are the receiver's, in3-in4 the
    sender's. The sender's coins come straight out of JoinMarket CoinJoins, so the transaction is a post-mix
    spend and chainsleuth keeps it out of multi-input clustering: nothing is merged. (In a full ledger the
    two JoinMarket CoinJoins are recognised by their equal outputs; the fixture only names them, so the test
    passes them as listed CoinJoins.) The change heuristic stays silent too: both outputs are fresh P2SH
    addresses like the inputs, so there is no single one-time candidate."""
    payjoin, sides, joinmarket = _load_payjoin(utxo, _payjoin(shared_data))
    assert len(sides) == 5 and len(joinmarket) == 2
    r = cluster_utxo(con, "bitcoin", UtxoHeuristics(coinjoin_txs=joinmarket))
    assert r["addresses"] == 0 and r["change_links"] == 0
    reasons = dict(con.execute("SELECT tx_hash, reason FROM cluster_exclusions").fetchall())
    assert reasons[payjoin] == "post-mix-spend"
    clustered = con.execute("SELECT count(*) FROM clusters WHERE address IN ?", [list(sides)]).fetchall()[0][0]
    assert clustered == 0


def test_payjoin_without_provenance_is_indistinguishable(con, utxo, shared_data):
    """Documented limitation: with no knowledge of where the sender's coins came from (and no amounts for the
    unnecessary-input test), plain common-input-ownership merges sender and receiver, exactly as PayJoin
    intends. The entity-conflict guard separates them once either side is tagged as a known entity."""
    payjoin, sides, _ = _load_payjoin(utxo, _payjoin(shared_data))
    cluster_utxo(con, "bitcoin")
    owners = con.execute("SELECT count(DISTINCT cluster_id) FROM clusters WHERE address IN ?", [list(sides)])
    assert owners.fetchall()[0][0] == 1  # merged: the heuristic cannot see the PayJoin
    sender = next(a for a, s in sides.items() if s == "sender")
    receiver = next(a for a, s in sides.items() if s == "receiver")
    con.execute("INSERT INTO tags (chain, address, label, category, actor, source, added_by) VALUES "
                "('bitcoin', ?, 'Merchant', 'payment', 'merchant', 'case notes', 'test'), "
                "('bitcoin', ?, 'Exchange', 'exchange', 'exchange', 'case notes', 'test')", [receiver, sender])
    r = cluster_utxo(con, "bitcoin")
    assert r["addresses"] == 0 and r["excluded"] == {"entity-conflict": 1}


@pytest.mark.slow
def test_samourai_coinjoin_addresses_are_participants_not_one_entity(con, utxo, shared_data):
    pack = shared_data / "graphsense-tagpacks" / "packs" / "samourai.yaml"
    r = import_file(con, pack)
    assert r["tags"] > 30_000
    addrs = [a for (a,) in con.execute("SELECT address FROM tags ORDER BY address LIMIT 12").fetchall()]
    # a Whirlpool-shaped mix (5 inputs, 5 equal outputs) among tagged participants ...
    utxo.tx([(a, 5_000_500, "witness_v0_keyhash") for a in addrs[:5]],
            [(a, 5_000_000, "witness_v0_keyhash") for a in addrs[5:10]])
    # ... and a plain-looking transaction spending two tagged addresses together
    utxo.tx([(addrs[10], 7_000, "witness_v0_keyhash"), (addrs[11], 9_000, "witness_v0_keyhash")],
            [("bc1qpaymentdestination", 15_000, "witness_v0_keyhash")])
    res = cluster_utxo(con, "bitcoin")
    assert res["addresses"] == 0
    assert set(res["excluded"]) == {"coinjoin:equal-outputs", "coinjoin:tagged-input"} or \
        set(res["excluded"]) == {"coinjoin:tagged-input"}
    labels = {x["address"]: x for x in address_labels(con, "bitcoin").to_pylist()}
    for a in addrs:
        assert labels[a]["category"] == "coinjoin" and labels[a]["entity"] is None and labels[a]["via"] == "tag"
