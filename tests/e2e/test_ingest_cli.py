"""The ingest and info commands end to end, through the installed ``chainsleuth`` executable."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"
EXE = [sys.executable, "-m", "chainsleuth.cli"]


def run(*args: str, db: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*EXE, *args, "--db", str(db)], capture_output=True, text=True, timeout=120)


def test_ingest_info_json(tmp_path):
    db = tmp_path / "c.duckdb"
    r = run("ingest", "etl", str(DATA / "ethereum-etl" / "stream_17173049_17173050"), "--chain", "ethereum", "--format", "json", db=db)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["added"]["transactions"] == 298
    r = run("ingest", "etl", str(DATA / "bitcoin-etl" / "block_with_transactions"), "--chain", "bitcoin", db=db)
    assert r.returncode == 0, r.stderr
    info = json.loads(run("info", "--format", "json", db=db).stdout)
    chains = {c["chain"]: c for c in info["chains"]}
    assert chains["ethereum"]["rows"]["transactions"] == 298
    assert chains["ethereum"]["blocks"] == {"first": 17173049, "last": 17173050, "count": 2}
    assert chains["bitcoin"]["rows"]["utxo_outputs"] == 4


def test_errors_exit_nonzero_with_clear_message(tmp_path):
    db = tmp_path / "c.duckdb"
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "blocks.csv").write_text("number,hash,timestamp\n1,0xzz,5\n")
    r = run("ingest", "etl", str(bad), "--chain", "ethereum", db=db)
    assert r.returncode == 2
    assert "blocks.csv:2" in r.stderr and "hash" in r.stderr and "Traceback" not in r.stderr
    r = run("ingest", "etl", str(tmp_path / "missing"), "--chain", "ethereum", db=db)
    assert r.returncode == 2 and "not a folder" in r.stderr
