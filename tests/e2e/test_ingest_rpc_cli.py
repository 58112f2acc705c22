"""``chainsleuth ingest rpc`` and ``ingest bitcoin-rpc`` end to end: the CLI against real local nodes."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from node.anvil import ETHER, Anvil  # noqa: E402
from node.bitcoind import Bitcoind  # noqa: E402
from node.tools import free_port  # noqa: E402

EXE = [sys.executable, "-m", "chainsleuth.cli"]
pytestmark = [pytest.mark.node, pytest.mark.slow]  # each CLI call starts the whole package


def run(*args: str, db: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*EXE, *args, "--db", str(db)], capture_output=True, text=True, timeout=300)


def test_ingest_rpc_json_resume_and_info(tmp_path):
    db = tmp_path / "cli.duckdb"
    with Anvil() as node:
        for i in range(4):
            node.eth.send(node.accounts[1], node.accounts[2], ETHER + i, gas=21_000)
        r = run("ingest", "rpc", node.url, "--chain", "ethereum", "--to-block", "2", "--format", "json", db=db)
        assert r.returncode == 0, r.stderr
        first = json.loads(r.stdout)
        assert (first["first_block"], first["last_block"], first["blocks"]) == (0, 2, 3)
        assert first["rows"]["transfers"] == 2 and first["reorgs"] == []
        assert "traces: trace_block" in first["notes"]
        r = run("ingest", "rpc", node.url, "--chain", "ethereum", "--batch-size", "1", "--workers", "1", db=db)
        assert r.returncode == 0, r.stderr
        assert "blocks 3..4" in r.stdout and "2 written" in r.stdout
    info = json.loads(run("info", "--format", "json", db=db).stdout)
    (eth,) = [c for c in info["chains"] if c["chain"] == "ethereum"]
    assert eth["blocks"] == {"first": 0, "last": 4, "count": 5}
    assert eth["transfers_by_kind"] == {"native": 4}
    assert eth["traces_ingested"] is True


def test_ingest_rpc_no_traces_is_stated_in_info(tmp_path):
    db = tmp_path / "nt.duckdb"
    with Anvil() as node:
        node.eth.send(node.accounts[1], node.accounts[2], ETHER, gas=21_000)
        r = run("ingest", "rpc", node.url, "--chain", "ethereum", "--no-traces", db=db)
        assert r.returncode == 0, r.stderr
    info = json.loads(run("info", "--format", "json", db=db).stdout)
    assert [c["traces_ingested"] for c in info["chains"]] == [False]


def test_unreachable_node_is_one_clear_error(tmp_path):
    r = run("ingest", "rpc", f"http://user:pw@127.0.0.1:{free_port()}", "--chain", "ethereum", "--timeout", "1",
            db=tmp_path / "x.duckdb")
    assert r.returncode == 2
    assert "eth_blockNumber failed after 6 attempts: connection failed" in " ".join(r.stderr.split())
    assert "pw@" not in r.stderr and "Traceback" not in r.stderr


def test_bitcoin_rpc_cli(tmp_path):
    db = tmp_path / "btc.duckdb"
    node = Bitcoind()
    try:
        node.mine(101)
        txid = node.rpc("sendtoaddress", node.rpc("getnewaddress"), Decimal("0.3"))
        node.mine(1)
        r = run("ingest", "bitcoin-rpc", node.url, "--chain", "bitcoin", "--format", "json", db=db)
        assert r.returncode == 0, r.stderr
        stats = json.loads(r.stdout)
        assert stats["last_block"] == 102 and stats["rows"]["utxo_inputs"] == 1
    finally:
        node.stop()
    info = json.loads(run("info", "--format", "json", db=db).stdout)
    (btc,) = [c for c in info["chains"] if c["chain"] == "bitcoin"]
    assert btc["rows"]["transactions"] == 104
    assert txid
