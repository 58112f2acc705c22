"""Faults between chainsleuth and a real anvil, injected by a local proxy: retries, backoff, clear final errors,
and nothing half-written."""

from __future__ import annotations

import pytest

from chainsleuth import store
from chainsleuth.ingest.evm_rpc import ingest_evm
from chainsleuth.ingest.rpc_client import JsonRpcClient, RetryPolicy, RpcError
from node.ledger import all_transfers
from node.proxy import FaultProxy
from node.tools import free_port

pytestmark = [pytest.mark.node, pytest.mark.xdist_group("anvil")]

FAST = RetryPolicy(attempts=4, base=0.01, cap=0.05)


@pytest.fixture
def proxy(anvil):
    with FaultProxy(anvil.url) as p:
        yield p


@pytest.mark.parametrize("fault", ["429", "503", "drop", "truncate", "rpc-error", "delay:0.6"])
def test_each_fault_is_retried_then_succeeds(proxy, anvil, fault):
    client = JsonRpcClient(proxy.url, timeout=0.3, policy=FAST)
    proxy.plan([fault, fault])
    assert client.call("eth_chainId") == anvil.eth.rpc("eth_chainId")
    assert proxy.requests == 3
    proxy.plan([fault])
    assert client.batch([("eth_blockNumber", []), ("eth_chainId", [])])[1] == anvil.eth.rpc("eth_chainId")
    client.close()


def test_persistent_rate_limit_gives_one_clear_error(proxy):
    client = JsonRpcClient(proxy.url.replace("http://", "http://alice:s3cret@"), policy=FAST)
    proxy.plan(["429"] * 10)
    with pytest.raises(RpcError) as err:
        client.call("eth_blockNumber")
    msg = str(err.value)
    assert "eth_blockNumber failed after 4 attempts: HTTP 429" in msg
    assert "s3cret" not in msg and proxy.url in msg
    assert proxy.requests == 4


def test_connection_refused_is_retried_then_reported():
    client = JsonRpcClient(f"http://127.0.0.1:{free_port()}", policy=FAST)
    with pytest.raises(RpcError, match="after 4 attempts: connection failed"):
        client.call("eth_blockNumber")


def test_permanent_errors_are_not_retried(proxy):
    client = JsonRpcClient(proxy.url, policy=FAST)
    proxy.plan([])
    with pytest.raises(RpcError, match="-32601"):
        client.call("no_such_method")
    assert proxy.requests == 1


def test_ingest_through_faults_equals_a_clean_ingest(proxy, anvil, evm_world, tmp_path):
    clean = store.connect(tmp_path / "clean.duckdb")
    ingest_evm(clean, anvil.url, "ethereum", from_block=0, to_block=evm_world.last_block)
    faulty = store.connect(tmp_path / "faulty.duckdb")
    proxy.plan(["ok", "429", "ok", "drop", "rpc-error", "ok", "truncate", "503", "ok", "delay:0.6", "rpc-error"] * 3)
    # Concurrent workers draw faults from one plan, so one call may meet several in a row: allow for it.
    stats = ingest_evm(faulty, proxy.url, "ethereum", from_block=0, to_block=evm_world.last_block, batch_size=3,
                       workers=2, timeout=0.4, policy=RetryPolicy(attempts=12, base=0.01, cap=0.05))
    assert stats.last_block == evm_world.last_block
    assert all_transfers(faulty, "ethereum") == all_transfers(clean, "ethereum")


def test_a_node_that_dies_midway_leaves_whole_ranges_and_resumes(proxy, anvil, evm_world, tmp_path):
    con = store.connect(tmp_path / "dies.duckdb")
    proxy.plan(["ok"] * 12 + ["503"] * 200)
    with pytest.raises(RpcError, match="HTTP 503"):
        ingest_evm(con, proxy.url, "ethereum", from_block=0, to_block=evm_world.last_block, batch_size=4, workers=1,
                   policy=FAST)
    last = con.execute("SELECT last_block FROM ingest_state").fetchone()
    stored = con.execute("SELECT count(*), max(number) FROM blocks").fetchone()
    assert last is not None and stored == (last[0] + 1, last[0])  # whole ranges only, state agrees
    assert last[0] < evm_world.last_block
    # No transfer or transaction beyond the last whole range.
    assert con.execute("SELECT count(*) FROM transfers WHERE block_number > ?", [last[0]]).fetchone()[0] == 0
    proxy.plan([])
    ingest_evm(con, proxy.url, "ethereum", to_block=evm_world.last_block)
    clean = store.connect(tmp_path / "clean.duckdb")
    ingest_evm(clean, anvil.url, "ethereum", from_block=0, to_block=evm_world.last_block)
    assert all_transfers(con, "ethereum") == all_transfers(clean, "ethereum")
