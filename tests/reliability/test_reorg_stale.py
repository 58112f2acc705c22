"""Analyses that used orphaned blocks are marked stale: a real anvil reverts blocks (evm_snapshot/evm_revert)
and mines a different branch; the saved trace and the stored incidents that drew on the orphaned blocks read
``stale: true`` (library, CLI and API row), the ones that did not stay current, and the store equals the new
canonical chain."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime

import pytest

from chainsleuth import store
from chainsleuth.detect.drain import Incident, Victim
from chainsleuth.detect.incidents import get_incident, list_incidents, save_incidents
from chainsleuth.ingest.evm_rpc import ingest_evm
from chainsleuth.trace import trace
from chainsleuth.trace.store import list_traces, load_trace, save_trace
from node.anvil import ETHER, Anvil

pytestmark = [pytest.mark.node]

LEDGER = {
    "blocks": "number, hash, parent_hash, block_time",
    "transactions": "hash, block_number, from_address, to_address, value, fee, status",
    "transfers": "block_number, tx_hash, kind, position, from_address, to_address, asset, amount",
}


def ledger(con) -> dict:
    return {t: con.execute(f"SELECT {c} FROM {t} ORDER BY ALL").fetchall() for t, c in LEDGER.items()}


def incident(iid: str, victim: str, attacker: str, tx: str, start: datetime, end: datetime) -> Incident:
    v = Victim(victim, [{"asset": "ETH", "symbol": "ETH", "amount": ETHER, "balance_before": 2 * ETHER, "usd": None,
                         "tx_hashes": [tx]}], None, start, end)
    return Incident(iid, "ethereum", start, end, [v],
                    [{"address": attacker, "role": "recipient", "first_seen": start, "victims": 1, "tx_hashes": [tx]}],
                    [{"asset": "ETH", "symbol": "ETH", "amount": ETHER, "usd": None}], None, False, {})


def block_time(con, number: int) -> datetime:
    return con.execute("SELECT block_time FROM blocks WHERE number = ?", [number]).fetchone()[0]


def test_reorg_marks_analyses_of_orphaned_blocks_stale(tmp_path):
    with Anvil() as node:
        a = node.accounts
        old_txs = [node.eth.send(a[1], a[2], ETHER + i, gas=21_000)["transactionHash"] for i in range(3)]  # blocks 1-3
        snap = node.eth.rpc("evm_snapshot")
        node.eth.rpc("evm_increaseTime", 3600)  # orphaned blocks lie an hour after block 3
        branch_a = [node.eth.send(a[2], a[3], ETHER // 2 + i, gas=21_000)["transactionHash"] for i in range(4)]  # 4-7
        db = tmp_path / "r.duckdb"
        con = store.connect(db)
        assert not ingest_evm(con, node.url, "ethereum", from_block=0, batch_size=2).reorgs

        # Saved traces: one whose edges lie in blocks 4..7 (a2 -> a3), one wholly in blocks 1..3 (a1 -> a2, up to
        # the block before the fork).
        on_orphans = save_trace(con, trace(con, [a[2]], "ethereum", after=4))
        before_fork = save_trace(con, trace(con, [a[1]], "ethereum", until=3))
        assert [(t["trace_id"], t["first_block"], t["last_block"]) for t in list_traces(con)] == [
            (before_fork, 1, 3), (on_orphans, 4, 7)]
        # Stored incidents: evidence in an orphaned block; window over the orphaned blocks' times; neither.
        t_old, t_orphan = block_time(con, 2), block_time(con, 5)
        far = datetime(2001, 1, 1)
        save_incidents(con, "ethereum", [
            incident("INC-evidence", a[2], a[3], branch_a[1].lower(), far, far),
            incident("INC-window", a[5], a[6], "0x" + "ab" * 32, t_orphan, t_orphan),
            incident("INC-current", a[1], a[2], old_txs[1].lower(), t_old, t_old),
        ])
        assert not any(i.stale for i in list_incidents(con))

        assert node.eth.rpc("evm_revert", snap)
        for i in range(6):  # branch B: blocks 4..9, different transactions
            node.eth.send(a[4], a[5], 3 * ETHER + i, gas=21_000)
        stats = ingest_evm(con, node.url, "ethereum", batch_size=2)
        (reorg,) = stats.reorgs
        assert (reorg.fork_block, reorg.orphaned_from, reorg.orphaned_to) == (3, 4, 7)
        assert reorg.stale == {"traces": 1, "incidents": 2}
        assert reorg.to_dict()["stale"] == {"traces": 1, "incidents": 2}

        fresh = store.connect(tmp_path / "fresh.duckdb")
        ingest_evm(fresh, node.url, "ethereum", from_block=0)
        assert ledger(con) == ledger(fresh)  # the store equals the new canonical chain
        fresh.close()

        flags = {t["trace_id"]: t["stale"] for t in list_traces(con)}
        assert flags == {on_orphans: True, before_fork: False}
        saved = load_trace(con, on_orphans)
        assert saved["stale"] is True and saved["stale_reasons"][0]["orphaned_from"] == 4
        assert saved["stale_reasons"][0]["orphaned_to"] == 7
        assert saved["edges"] and {e["tx_hash"] for e in saved["edges"]} <= {h.lower() for h in branch_a}
        assert load_trace(con, before_fork)["stale"] is False
        assert {i.incident_id: i.to_dict()["stale"] for i in list_incidents(con)} == {
            "INC-evidence": True, "INC-window": True, "INC-current": False}

        # Re-detecting (re-saving) an incident after the reorg makes it current again.
        save_incidents(con, "ethereum", [incident("INC-window", a[5], a[6], "0x" + "ab" * 32, t_orphan, t_orphan)])
        assert get_incident(con, "INC-window").stale is False
        con.close()

        # The CLI shows the flag where saved traces are read and listed.
        def cli(*args: str) -> object:
            r = subprocess.run([sys.executable, "-m", "chainsleuth.cli", "traces", *args, "--db", str(db),
                                "--format", "json"], capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, r.stderr
            return json.loads(r.stdout)

        assert cli("show", str(on_orphans))["stale"] is True
        assert {t["trace_id"]: t["stale"] for t in cli("list")} == flags


def test_reorg_without_saved_analyses_marks_nothing(tmp_path):
    with Anvil() as node:
        a = node.accounts
        node.eth.send(a[1], a[2], ETHER, gas=21_000)
        snap = node.eth.rpc("evm_snapshot")
        node.eth.send(a[1], a[3], ETHER, gas=21_000)
        con = store.connect(tmp_path / "n.duckdb")
        ingest_evm(con, node.url, "ethereum", from_block=0)
        node.eth.rpc("evm_revert", snap)
        node.eth.send(a[1], a[4], ETHER, gas=21_000)
        node.eth.send(a[1], a[4], ETHER, gas=21_000)
        (reorg,) = ingest_evm(con, node.url, "ethereum").reorgs
        assert reorg.stale == {"traces": 0, "incidents": 0}
        assert con.execute("SELECT count(*) FROM stale_analyses").fetchone()[0] == 0
