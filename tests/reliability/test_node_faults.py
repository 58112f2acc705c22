"""Node faults not already covered by tests/unit/ingest_rpc (which proves per-fault retries, persistent rate
limits, a node answering 503 midway, and ingest-through-faults == clean ingest):

* a real node process *stopped* mid-sync (regtest bitcoind shut down after some ranges were written), then
  restarted on the same data: the ingest fails with one clear error, holds whole ranges only, and resumes to a
  store equal to a single clean run, nothing duplicated;
* ``kill -9`` of ``chainsleuth ingest rpc`` at random points while it syncs from anvil through a slow link,
  then a re-run: equal to a clean run, nothing lost or duplicated.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from decimal import Decimal

import httpx
import pytest

from chainsleuth import store
from chainsleuth.ingest.bitcoin_rpc import ingest_bitcoin
from chainsleuth.ingest.evm_rpc import ingest_evm
from chainsleuth.ingest.rpc_client import RetryPolicy, RpcError
from node.anvil import ETHER, Anvil
from node.bitcoind import Bitcoind
from node.ledger import all_transfers
from node.proxy import FaultProxy

pytestmark = [pytest.mark.node, pytest.mark.slow]

FAST = RetryPolicy(attempts=3, base=0.01, cap=0.05)
BTC_TABLES = {
    "blocks": "number, hash, parent_hash",
    "transactions": "hash, block_number, fee, input_count, output_count",
    "utxo_outputs": "tx_hash, output_index, block_number, address, value",
    "utxo_inputs": "tx_hash, input_index, block_number, spent_tx_hash, spent_output_index, value",
}


def btc_ledger(con) -> dict:
    return {t: con.execute(f"SELECT {c} FROM {t} ORDER BY ALL").fetchall() for t, c in BTC_TABLES.items()}


def duplicates(con) -> int:
    keys = {"blocks": "chain, number", "transactions": "chain, hash", "utxo_outputs": "chain, tx_hash, output_index",
            "utxo_inputs": "chain, tx_hash, input_index", "transfers": "chain, tx_hash, kind, position, seq"}
    return sum(con.execute(f"SELECT count(*) FROM (SELECT {k} FROM {t} GROUP BY ALL HAVING count(*) > 1)").fetchone()[0]
               for t, k in keys.items())


class RestartableBitcoind(Bitcoind):
    """The regtest node, stoppable (RPC ``stop``: a real shutdown) and restartable on the same datadir."""

    def shutdown(self) -> None:
        self.rpc("stop")
        self.proc.wait(60)

    def restart(self) -> None:
        self.proc = subprocess.Popen(self.proc.args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.http = httpx.Client(timeout=120, auth=self.http.auth, trust_env=False)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.rpc("getblockcount")
                return
            except (httpx.TransportError, RuntimeError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("bitcoind did not restart") from None
                time.sleep(0.2)


def test_bitcoind_stopped_mid_sync_then_restarted_resumes_exactly(tmp_path):
    n = RestartableBitcoind()
    try:
        n.mine(101)
        for i in range(6):
            n.rpc("sendtoaddress", n.rpc("getnewaddress"), Decimal("0.5") + i)
            n.mine(8)
        head = n.rpc("getblockcount")
        con = store.connect(tmp_path / "stopped.duckdb")
        written: list[int] = []

        def progress(stats, block, goal):
            written.append(block)
            if len(written) == 2:
                n.shutdown()  # the node goes away after two whole ranges were committed

        with pytest.raises(RpcError, match="connection failed") as err:
            ingest_bitcoin(con, n.url, "bitcoin", from_block=0, batch_size=20, workers=2, policy=FAST,
                           progress=progress)
        assert "cs-test-password" not in str(err.value)
        last = con.execute("SELECT last_block FROM ingest_state").fetchone()[0]
        assert last == written[-1] < head
        assert con.execute("SELECT count(*), max(number) FROM blocks").fetchone() == (last + 1, last)
        for t in ("transactions", "utxo_outputs", "utxo_inputs"):
            assert con.execute(f"SELECT count(*) FROM {t} WHERE block_number > ?", [last]).fetchone()[0] == 0, t

        n.restart()
        assert n.rpc("getblockcount") == head
        resumed = ingest_bitcoin(con, n.url, "bitcoin", batch_size=20, policy=FAST)
        assert (resumed.first_block, resumed.last_block) == (last + 1, head)
        clean = store.connect(tmp_path / "clean.duckdb")
        ingest_bitcoin(clean, n.url, "bitcoin", from_block=0)
        assert btc_ledger(con) == btc_ledger(clean)
        assert duplicates(con) == 0
        # Re-running over the whole range again changes nothing (idempotent).
        again = ingest_bitcoin(con, n.url, "bitcoin", from_block=0, batch_size=50)
        assert again.blocks == 0 and again.skipped_blocks == head + 1
        assert btc_ledger(con) == btc_ledger(clean)
    finally:
        n.stop()


def test_kill_dash_nine_of_rpc_ingest_then_rerun_equals_clean_run(tmp_path):
    with Anvil() as node:
        a = node.accounts
        for i in range(40):
            node.eth.send(a[1 + i % 4], a[5 + i % 4], ETHER + i, gas=21_000)
            node.eth.rpc("anvil_mine", "0x3")  # ~160 blocks, every fourth with a payment
        head = node.eth.block_number()
        clean = store.connect(tmp_path / "clean.duckdb")
        ingest_evm(clean, node.url, "ethereum", from_block=0)
        want = all_transfers(clean, "ethereum")
        clean_blocks = clean.execute("SELECT count(*) FROM blocks").fetchone()[0]
        clean.close()
        assert len(want) == 40 and clean_blocks == head + 1

        db = tmp_path / "crashed.duckdb"
        cmd = [sys.executable, "-m", "chainsleuth.cli", "ingest", "rpc", "", "--chain", "ethereum", "--batch-size",
               "4", "--workers", "1", "--db", str(db), "--format", "json"]
        rnd = random.Random(5)
        kills = 0
        with FaultProxy(node.url) as proxy:
            cmd[5] = proxy.url
            for _ in range(4):
                proxy.plan(["delay:0.05"] * 10_000)  # a slow link: each range takes a while
                proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(rnd.uniform(1.5, 4.0))
                if proc.poll() is None:
                    os.kill(proc.pid, signal.SIGKILL)
                    kills += 1
                proc.wait(60)
                con = store.connect(db)
                state = con.execute("SELECT last_block FROM ingest_state").fetchone()
                stored = con.execute("SELECT count(*), max(number) FROM blocks").fetchone()
                if state is not None:  # whole ranges only, and the resume point agrees with them
                    assert stored == (state[0] + 1, state[0])
                assert duplicates(con) == 0
                print(f"attempt: killed={proc.returncode == -signal.SIGKILL}, stored through block {stored[1]}")
                con.close()
            proxy.plan([])
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stderr
        con = store.connect(db)
        assert all_transfers(con, "ethereum") == want
        assert con.execute("SELECT count(*) FROM blocks").fetchone()[0] == clean_blocks
        assert duplicates(con) == 0
        con.close()
        assert kills >= 1, "no kill landed mid-ingest; slow the link further"
