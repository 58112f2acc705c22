"""``chainsleuth trace`` through the real command line on a real database file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.unit.trace.ledger import ETH, Ledger, addr

from chainsleuth import store

CLI = str(Path(sys.executable).parent / "chainsleuth")
A, B, HOT, V = addr("A"), addr("B"), addr("HOT"), addr("V")


def _db(tmp_path: Path) -> Path:
    db = tmp_path / "t.duckdb"
    con = store.connect(db)
    led = Ledger(con)
    led.send(1, V, A, 5 * ETH)
    led.send(2, A, B, 5 * ETH, fee=10**15)
    led.send(3, B, HOT, 3 * ETH)
    led.tag(HOT, "Binance 14", "exchange")
    led.price("ETH", 2000.0)
    led.commit()
    con.close()
    return db


def _run(db: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, "trace", *args], env={**os.environ, "CHAINSLEUTH_DB": str(db)},
                          capture_output=True, text=True)


def test_json_keys_and_amounts(tmp_path):
    db = _db(tmp_path)
    srcs = tmp_path / "sources.csv"
    srcs.write_text(f"address\n{A}\n")
    p = _run(db, "--sources-file", str(srcs), "--chain", "ethereum", "--format", "json", "--model", "haircut",
             "--save")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert {"sources", "model", "direction", "parameters", "exits", "edges", "resting", "totals"} <= set(d)
    [ex] = d["exits"]
    assert ex["address"] == HOT and ex["amount"] == str(3 * ETH) and ex["usd"] == pytest.approx(6000.0)
    assert set(ex) >= {"address", "chain", "label", "category", "asset", "amount", "usd", "tx_hashes"}
    assert {r["address"]: r["amount"] for r in d["resting"]} == {B: str(2 * ETH)}
    [tot] = d["totals"]["by_asset"]
    # stolen = what A sent on (5 ETH) + the fee A paid; all of it accounted for
    assert int(tot["source"]) == 5 * ETH + 10**15
    assert int(tot["to_exits"]) + int(tot["resting"]) + int(tot["fees"]) == int(tot["source"])
    assert d["trace_id"] >= 1
    text = _run(db, A, "--chain", "ethereum")
    assert text.returncode == 0 and "Binance 14" in text.stdout


def test_bad_input_is_one_clear_line(tmp_path):
    db = _db(tmp_path)
    p = _run(db, "0x1234", "--chain", "ethereum")
    assert p.returncode == 2 and "not an EVM address" in p.stderr
    p = _run(db, A, "--chain", "ethereum", "--model", "lifo")
    assert p.returncode == 2 and "unknown model" in p.stderr
    bad = tmp_path / "s.txt"
    bad.write_text(f"{A}\nnot-an-address\n")
    p = _run(db, "--sources-file", str(bad), "--chain", "ethereum")
    assert p.returncode == 2 and "s.txt:2" in p.stderr
