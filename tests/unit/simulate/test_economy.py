"""The background economy has the features that make forensics hard: heavy tails, reused deposit
addresses, sweeps, internal transfers, swaps, CoinJoins, peel chains, change outputs."""

from __future__ import annotations

import json


def test_heavy_tailed_activity(world_db):
    top, total = world_db.execute("""
        WITH c AS (SELECT from_address, count(*) AS n FROM eth_transactions GROUP BY ALL),
             r AS (SELECT n, row_number() OVER (ORDER BY n DESC) AS rk, count(*) OVER () AS users FROM c)
        SELECT sum(n) FILTER (WHERE rk <= users / 100), sum(n) FROM r""").fetchone()
    assert top / total > 0.15  # the busiest 1% of senders send far more than 1% of transactions
    users = world_db.execute("SELECT count(DISTINCT from_address) FROM eth_transactions").fetchone()[0]
    assert users > 10_000


def test_internal_transfers_swaps_and_sweeps(world_db, truth):
    svc = {(s["name"], s["chain"]): s for s in truth["services"]}
    hot = {
        a["address"]
        for n in ("Binafex", "Krakoin", "Coinbit")
        for a in svc[(n, "ethereum")]["addresses"]["hot"]
    }
    deposits = {
        a["address"]
        for n in ("Binafex", "Krakoin", "Coinbit")
        for a in svc[(n, "ethereum")]["addresses"]["deposit"]
    }
    world_db.execute("CREATE OR REPLACE TEMP TABLE hot AS SELECT unnest($h) AS a", {"h": sorted(hot)})
    world_db.execute("CREATE OR REPLACE TEMP TABLE dep AS SELECT unnest($d) AS a", {"d": sorted(deposits)})
    forwarded = world_db.execute("""SELECT count(*) FROM eth_traces r JOIN dep ON dep.a = r.from_address
                                    JOIN hot ON hot.a = r.to_address WHERE r.trace_address = '0'""").fetchone()[
        0
    ]
    swept = world_db.execute("""SELECT count(*) FROM eth_moves m JOIN dep ON dep.a = m.frm JOIN hot ON hot.a = m."to"
                                WHERE m.seq = 0""").fetchone()[0]
    flushed = world_db.execute("""SELECT count(*) FROM eth_token_transfers t JOIN dep ON dep.a = t.from_address
                                  JOIN hot ON hot.a = t.to_address""").fetchone()[0]
    assert forwarded > 100 and swept > 100 and flushed > 100
    reused = world_db.execute("""SELECT count(*) FROM (SELECT "to" FROM eth_moves JOIN dep ON dep.a = "to"
                                  GROUP BY ALL HAVING count(DISTINCT tx) >= 3)""").fetchone()[0]
    assert reused > 100  # customers reuse their deposit address
    pool = svc[("Uniswop", "ethereum")]["addresses"]["pool"][0]["address"]
    swaps = world_db.execute(
        """SELECT count(*) FROM eth_token_transfers l JOIN eth_traces r
                                ON r.transaction_hash = l.transaction_hash AND r.trace_address = '0'
                                WHERE l.to_address = $p AND r.from_address = $p""",
        {"p": pool},
    ).fetchone()[0]
    assert swaps > 100  # token in, ETH out, same transaction
    mixer = [a["address"] for a in svc[("Tornadash", "ethereum")]["addresses"]["pool"]]
    withdrawals = world_db.execute(
        """SELECT count(*) FROM eth_traces WHERE from_address IN (SELECT unnest($m))
                                      AND trace_address = '1'""",
        {"m": mixer},
    ).fetchone()[0]
    assert withdrawals > 20  # relayer fee paid by an internal call


def test_bitcoin_coinjoins_consolidations_and_change(world_db, truth):
    coinjoins = world_db.execute("""SELECT count(*) FROM (SELECT tx FROM btc_out WHERE value = 10000000 GROUP BY tx
                                    HAVING count(*) >= 5)""").fetchone()[0]
    assert coinjoins >= 5
    svc = {(s["name"], s["chain"]): s for s in truth["services"]}
    hot = [
        a["address"]
        for n in ("Binafex", "Krakoin", "Coinbit")
        for a in svc[(n, "bitcoin")]["addresses"]["hot"]
    ]
    big = world_db.execute(
        """SELECT count(*) FROM (SELECT i.tx FROM btc_in i JOIN btc_out o ON o.tx = i.tx
                              WHERE o.address IN (SELECT unnest($h)) GROUP BY i.tx HAVING count(DISTINCT i.vin) >= 5)""",
        {"h": hot},
    ).fetchone()[0]
    assert big > 20  # multi-input sweeps of deposit addresses
    two_out = world_db.execute(
        "SELECT count(*) FROM btc_tx WHERE output_count = 2 AND NOT is_coinbase"
    ).fetchone()[0]
    assert two_out > 1000  # payment + change


def test_summary_counts_match_files(small_world, world_db):
    summary = json.loads((small_world / "summary.json").read_text())
    eth = summary["transfers"]["ethereum"]
    native, token, internal, genesis = (
        world_db.execute("""SELECT count(*) FILTER (WHERE seq = 0 AND frm IS NOT NULL),
        count(*) FILTER (WHERE seq >= 100), count(*) FILTER (WHERE seq BETWEEN 1 AND 99), count(*) FILTER (WHERE frm IS NULL)
        FROM eth_moves""").fetchone()
    )
    assert (native, token, internal, genesis) == (
        eth["native"],
        eth["token"],
        eth["internal"],
        eth["genesis"],
    )
    assert 50_000 <= summary["transfers"]["total"] <= 160_000
