"""truth.json agrees with the emitted transactions: every hop exists with its amount, the stolen value is
accounted for exactly, and final resting places match the chain."""

from __future__ import annotations

import csv
from collections import defaultdict

import pyarrow as pa
import yaml

PROFILES = {"lazarus-like", "exploiter", "scammer"}


def test_one_incident_per_profile_by_default(truth):
    assert sorted(i["profile"] for i in truth["incidents"]) == sorted(PROFILES)
    for inc in truth["incidents"]:
        assert inc["victims"] and inc["hops"] and inc["attacker_addresses"] and inc["final"]
        assert inc["start"] <= inc["end"]


def test_accounting_is_exact(truth):
    for inc in truth["incidents"]:
        victims = defaultdict(int)
        for v in inc["victims"]:
            victims[v["asset"]] += int(v["amount"])
        assert {a: str(x) for a, x in victims.items()} == inc["stolen"]
        finals = defaultdict(int)
        for f in inc["final"]:
            assert int(f["amount"]) > 0
            finals[f["asset"]] += int(f["amount"])
        fees = defaultdict(int)
        for f in inc["fees"]:
            fees[f["asset"]] += int(f["amount"])
        for asset, row in inc["accounting"].items():
            r = {k: int(v) for k, v in row.items()}
            assert r["stolen"] == victims[asset]
            assert r["final"] == finals[asset]
            assert r["fees"] == fees[asset]
            assert (
                r["stolen"] + r["swapped_in"] + r["bridged_in"]
                == r["final"] + r["fees"] + r["swapped_out"] + r["bridged_out"]
            )


def test_every_evm_hop_is_a_transfer_in_that_transaction(truth, world_db):
    hops = [
        (h["tx_hash"], h["from"], h["to"], h["asset_id"], int(h["amount"]) + int(h["clean_amount"]))
        for inc in truth["incidents"]
        for h in inc["hops"]
        if h["chain"] == "ethereum"
    ]
    assert len(hops) > 1000
    cols = list(zip(*hops, strict=True))
    staged = pa.table(
        {"tx": cols[0], "frm": cols[1], "t": cols[2], "asset": cols[3], "amount": [str(x) for x in cols[4]]}
    )
    world_db.register("staged_hops", staged)
    world_db.execute(
        "CREATE OR REPLACE TEMP TABLE hops AS SELECT tx, frm, t, asset, amount::HUGEINT AS amount FROM staged_hops"
    )
    missing = world_db.execute("""SELECT h.* FROM hops h ANTI JOIN eth_moves m
        ON m.tx = h.tx AND m.frm = h.frm AND m."to" = h.t AND m.asset = h.asset AND m.amount = h.amount LIMIT 3""").fetchall()
    assert missing == []


def test_every_utxo_hop_is_an_output_of_that_transaction(truth, world_db):
    hops = [
        (h["tx_hash"], h["from"], h["to"], int(h["amount"]) + int(h["clean_amount"]), h["kind"])
        for inc in truth["incidents"]
        for h in inc["hops"]
        if h["chain"] == "bitcoin"
    ]
    assert len(hops) > 20
    kinds = {h[4] for h in hops}
    assert {"bridge_release", "coinjoin", "cashout", "peel"} <= kinds
    cols = list(zip(*hops, strict=True))
    staged = pa.table({"tx": cols[0], "frm": cols[1], "t": cols[2], "amount": list(cols[3]), "kind": cols[4]})
    world_db.register("staged_bhops", staged)
    world_db.execute("CREATE OR REPLACE TEMP TABLE bhops AS SELECT * FROM staged_bhops")
    # the CoinJoin coordinator's fee output is shared: the actor's hop is its share of that output
    missing = world_db.execute("""SELECT h.* FROM bhops h ANTI JOIN btc_out o ON o.tx = h.tx AND o.address = h.t
                                  AND (o.value = h.amount OR (h.kind = 'mixer_fee' AND o.value > h.amount)) LIMIT 3""").fetchall()
    assert missing == []
    not_spender = world_db.execute("""SELECT h.* FROM bhops h ANTI JOIN btc_in i ON i.tx = h.tx AND i.address = h.frm
                                      LIMIT 3""").fetchall()
    assert not_spender == []


def test_victim_records_are_the_theft_transactions(truth, world_db):
    for inc in truth["incidents"]:
        thefts = {(h["tx_hash"], h["asset"]) for h in inc["hops"] if h["kind"] == "theft"}
        assert {(v["tx_hash"], v["asset"]) for v in inc["victims"]} == thefts
    lazarus = next(i for i in truth["incidents"] if i["profile"] == "lazarus-like")
    assert len({v["address"] for v in lazarus["victims"]}) >= 500
    assert {v["asset"] for v in lazarus["victims"]} == {"ETH", "USDT", "USDC", "WBTC"}


def test_final_balances_match_the_chain(truth, world_db):
    """Stolen units resting at the actor's own addresses are really there at the end (clean gas money may
    add to the balance, never subtract)."""
    checked = 0
    for inc in truth["incidents"]:
        for f in inc["final"]:
            if f["category"] != "unlabeled":
                continue
            if f["chain"] == "ethereum":
                bal = world_db.execute(
                    """
                    SELECT coalesce(sum(CASE WHEN "to" = $a THEN amount ELSE 0 END), 0)
                         - coalesce(sum(CASE WHEN frm = $a THEN amount ELSE 0 END), 0)
                         - CASE WHEN $asset = 'ETH' THEN (SELECT coalesce(sum(fee), 0) FROM eth_fees WHERE payer = $a) ELSE 0 END
                    FROM eth_moves WHERE asset = $asset AND ("to" = $a OR frm = $a)""",
                    {"a": f["address"], "asset": f["asset_id"]},
                ).fetchone()[0]
            else:
                bal = world_db.execute(
                    """SELECT coalesce(sum(o.value), 0) FROM btc_out o
                    ANTI JOIN btc_in i ON i.spent_tx = o.tx AND i.spent_vout = o.vout WHERE o.address = $a""",
                    {"a": f["address"]},
                ).fetchone()[0]
            assert bal >= int(f["amount"]), f
            checked += 1
    assert checked > 5


def test_profiles_behave_as_described(truth):
    by = {i["profile"]: i for i in truth["incidents"]}
    laz = by["lazarus-like"]
    kinds = {h["kind"] for h in laz["hops"]}
    assert {"theft", "swap", "bridge_lock", "bridge_release", "coinjoin", "peel", "cashout"} <= kinds
    assert laz["swaps"] and laz["bridges"]
    assert {f["category"] for f in laz["final"]} & {"deposit", "otc"}
    exp = by["exploiter"]
    assert len(exp["victims"]) == 1
    deposits = [h for h in exp["hops"] if h["kind"] == "mixer_deposit"]
    assert len(deposits) >= 10 and {int(h["amount"]) for h in deposits} <= {10**17, 10**18, 10**19, 10**20}
    assert exp["mixer_links"] and any(f["category"] == "mixer" for f in exp["final"])
    scam = by["scammer"]
    assert len(scam["victims"]) >= 20
    assert any(f["category"] == "deposit" for f in scam["final"])
    cashouts = [h for h in scam["hops"] if h["kind"] == "cashout"]
    assert cashouts


def test_owners_and_tags(truth, small_world):
    owners = {}
    with (small_world / "owners.csv").open() as fh:
        for row in csv.DictReader(fh):
            owners[(row["chain"], row["address"])] = (row["owner"], row["role"])
    for inc in truth["incidents"]:
        for a in inc["attacker_addresses"]:
            owner, _role = owners[(a["chain"], a["address"])]
            if a["role"] == "exchange_deposit":
                assert owner.startswith("exchange:")
            else:
                assert owner == f"attacker:{inc['id']}"
        for v in inc["victims"]:
            assert (v["chain"], v["address"]) in owners
    tags = yaml.safe_load((small_world / "tags.yaml").read_text())
    tagged = {t["address"] for t in tags["tags"]}
    assert tags["title"] and tags["creator"] and len(tagged) > 50
    deposits = [a for s in truth["services"] for a in s["addresses"].get("deposit", [])]
    assert len(deposits) > 1000
    share = sum(a["tagged"] for a in deposits) / len(deposits)
    assert 0 < share < 0.1  # most deposit addresses are unknown to the public tag source
    listed = {
        a["address"] for s in truth["services"] for r in s["addresses"].values() for a in r if a["tagged"]
    }
    assert tagged == listed
    attacker = {
        a["address"]
        for i in truth["incidents"]
        for a in i["attacker_addresses"]
        if a["role"] != "exchange_deposit"
    }
    assert not attacker & tagged


def test_every_bridge_release_is_mined_after_its_lock(truth, world_db):
    """A bridge pays out only after it has seen the lock: the release's block time is later than the lock's
    (the large world once released into a bitcoin block mined minutes before the lock)."""
    pairs = [(b["lock_tx"], b["release_tx"]) for inc in truth["incidents"] for b in inc["bridges"]
             if b["lock_chain"] == "ethereum" and b["release_chain"] == "bitcoin"]
    assert pairs
    world_db.register("bridge_pairs", pa.table({"lock": [p[0] for p in pairs], "release": [p[1] for p in pairs]}))
    early = world_db.execute("""
        SELECT p.lock, p.release FROM bridge_pairs p
        JOIN eth_blocks eb ON eb.number = (SELECT t.block_number FROM eth_transactions t WHERE t.hash = p.lock)
        JOIN btc_tx r ON r.hash = p.release
        JOIN btc_blocks bb ON bb.number = r.block_number
        WHERE bb.timestamp::BIGINT <= eb.timestamp::BIGINT""").fetchall()
    assert early == []
