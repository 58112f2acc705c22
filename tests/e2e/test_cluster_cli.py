"""``chainsleuth cluster`` and ``chainsleuth entity`` end to end on real Bitcoin blocks and a small EVM ledger."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb

from chainsleuth import store
from chainsleuth.store.ledger import ensure_chain

DATA = Path(__file__).resolve().parents[1] / "data"
EXE = [sys.executable, "-m", "chainsleuth.cli"]


def run(*args: str, db: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*EXE, *args, "--db", str(db)], capture_output=True, text=True, timeout=180)


def test_cluster_real_bitcoin_block_and_entity(tmp_path):
    db = tmp_path / "c.duckdb"
    r = run("ingest", "etl", str(DATA / "bitcoin-etl" / "block_with_transactions"), "--chain", "bitcoin", db=db)
    assert r.returncode == 0, r.stderr
    r = run("cluster", "--chain", "bitcoin", "--format", "json", db=db)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["chain"] == "bitcoin" and "multi-input" in res["heuristics"]
    con = duckdb.connect(str(db), read_only=True)
    multi = con.execute(
        "SELECT tx_hash, list(DISTINCT address) FROM utxo_inputs WHERE address IS NOT NULL GROUP BY 1 "
        "HAVING count(DISTINCT address) > 1").fetchall()
    any_addr = con.execute("SELECT address FROM utxo_outputs WHERE address IS NOT NULL LIMIT 1").fetchall()[0][0]
    con.close()
    assert res["addresses"] == len({a for _, lst in multi for a in lst}) or res["excluded"]
    e = json.loads(run("entity", any_addr, "--chain", "bitcoin", "--format", "json", db=db).stdout)
    assert e["address"] == any_addr and e["transfers"] >= 1 and e["balances"][0]["asset"] == "BTC"
    r = run("cluster", "--chain", "bitcoin", "--change-signal", "vibes", db=db)
    assert r.returncode == 2 and "unknown change signal" in r.stderr


def test_cluster_evm_deposits_and_entity_text(tmp_path):
    db = tmp_path / "e.duckdb"
    con = store.connect(db)
    ensure_chain(con, "ethereum")
    hot, dep, user = "0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20
    con.execute("INSERT INTO tags (chain, address, label, category, actor, source, confidence, added_by) "
                "VALUES ('ethereum', ?, 'Kraken 4', 'hot_wallet', 'kraken', 'test', 0.9, 'test')", [hot])
    con.execute(
        "INSERT INTO transfers VALUES "
        "('ethereum', 1, TIMESTAMP '2024-01-01 00:00', '0xaa', 0, 'native', '', 0, ?, ?, 'ETH', 1000000, NULL),"
        "('ethereum', 2, TIMESTAMP '2024-01-01 01:00', '0xbb', 0, 'native', '', 0, ?, ?, 'ETH', 990000, NULL)",
        [user, dep, dep, hot],
    )
    con.close()
    res = json.loads(run("cluster", "--chain", "ethereum", "--format", "json", db=db).stdout)
    assert res["deposit_addresses"] == 1 and res["clusters"] == 1
    e = json.loads(run("entity", user, "--format", "json", db=db).stdout)
    assert e["chain"] == "ethereum" and e["cluster"]["size"] == 2
    assert {m["address"] for m in e["cluster"]["members"]} == {user, dep}
    text = run("entity", dep, db=db)
    assert text.returncode == 0 and "deposit address of kraken" in " ".join(text.stdout.split())
    missing = run("entity", "0x" + "44" * 20, db=db)
    assert missing.returncode == 2 and "no activity" in missing.stderr
