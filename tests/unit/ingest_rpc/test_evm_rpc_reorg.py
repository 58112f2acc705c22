"""Reorgs on a real anvil: snapshot, mine, ingest, revert, mine a different branch, ingest: store == new chain."""

from __future__ import annotations

import pytest

from chainsleuth import store
from chainsleuth.errors import ChainsleuthError
from chainsleuth.ingest.evm_rpc import ingest_evm
from node.anvil import ETHER, Anvil

pytestmark = [pytest.mark.node]

LEDGER = {
    "blocks": "number, hash, parent_hash, block_time, tx_count",
    "transactions": "hash, block_number, tx_index, from_address, to_address, value, fee, status",
    "transfers": "block_number, tx_hash, kind, position, seq, from_address, to_address, asset, amount",
}


def snapshot_of(con) -> dict[str, list]:
    return {t: con.execute(f"SELECT {cols} FROM {t} ORDER BY ALL").fetchall() for t, cols in LEDGER.items()}


def mine_payments(node: Anvil, n: int, to_index: int, amount: int) -> None:
    for i in range(n):
        node.eth.send(node.accounts[1], node.accounts[to_index], amount + i, gas=21_000)


@pytest.fixture
def node():
    with Anvil() as n:
        yield n


def test_reorg_replaces_the_orphaned_branch(node, tmp_path):
    mine_payments(node, 3, 2, ETHER)
    snap = node.eth.rpc("evm_snapshot")
    mine_payments(node, 4, 3, 2 * ETHER)  # branch A: blocks 4..7
    con = store.connect(tmp_path / "a.duckdb")
    first = ingest_evm(con, node.url, "ethereum", from_block=0, batch_size=2)
    assert first.last_block == 7 and not first.reorgs
    old_tip = con.execute("SELECT hash FROM blocks WHERE number = 7").fetchone()[0]

    assert node.eth.rpc("evm_revert", snap)
    mine_payments(node, 6, 4, 3 * ETHER)  # branch B: blocks 4..9, other transactions
    second = ingest_evm(con, node.url, "ethereum", batch_size=2)

    assert len(second.reorgs) == 1
    r = second.reorgs[0]
    assert (r.fork_block, r.orphaned_from, r.orphaned_to) == (3, 4, 7)
    assert r.rows_deleted > 0
    row = con.execute("SELECT fork_block, orphaned_from, orphaned_to, old_tip_hash FROM reorgs").fetchall()
    assert row == [(3, 4, 7, old_tip)]
    # The store now equals a fresh ingest of the new chain.
    fresh = store.connect(tmp_path / "fresh.duckdb")
    ingest_evm(fresh, node.url, "ethereum", from_block=0)
    assert snapshot_of(con) == snapshot_of(fresh)
    assert con.execute("SELECT count(*) FROM transfers WHERE to_address = ?", [node.accounts[3]]).fetchone()[0] == 0
    state = con.execute("SELECT last_block, last_hash FROM ingest_state").fetchone()
    assert state == (9, node.eth.rpc("eth_getBlockByNumber", "0x9", False)["hash"])


def test_reorg_detected_inside_an_already_stored_range(node, tmp_path):
    """Re-reading a stored range whose blocks changed: the mismatch is inside the range, not at its parent."""
    mine_payments(node, 2, 2, ETHER)
    snap = node.eth.rpc("evm_snapshot")
    mine_payments(node, 3, 3, ETHER)
    con = store.connect(tmp_path / "b.duckdb")
    ingest_evm(con, node.url, "ethereum", from_block=0)
    node.eth.rpc("evm_revert", snap)
    mine_payments(node, 3, 5, 7 * ETHER)  # same height, different blocks
    stats = ingest_evm(con, node.url, "ethereum", from_block=0)
    assert [(x.fork_block, x.orphaned_from, x.orphaned_to) for x in stats.reorgs] == [(2, 3, 5)]
    fresh = store.connect(tmp_path / "fresh.duckdb")
    ingest_evm(fresh, node.url, "ethereum", from_block=0)
    assert snapshot_of(con) == snapshot_of(fresh)


def test_too_deep_reorg_is_refused_and_nothing_changes(node, tmp_path):
    snap = node.eth.rpc("evm_snapshot")
    mine_payments(node, 5, 2, ETHER)
    con = store.connect(tmp_path / "c.duckdb")
    ingest_evm(con, node.url, "ethereum", from_block=0)
    before = snapshot_of(con)
    node.eth.rpc("evm_revert", snap)
    mine_payments(node, 6, 3, ETHER)
    with pytest.raises(ChainsleuthError, match="deeper than 2 blocks"):
        ingest_evm(con, node.url, "ethereum", max_reorg_depth=2)
    assert snapshot_of(con) == before
    assert con.execute("SELECT count(*) FROM reorgs").fetchone()[0] == 0


def test_confirmations_keep_behind_the_head(node, tmp_path):
    mine_payments(node, 6, 2, ETHER)
    con = store.connect(tmp_path / "d.duckdb")
    stats = ingest_evm(con, node.url, "ethereum", from_block=0, confirmations=3)
    assert stats.last_block == node.eth.block_number() - 3
    with pytest.raises(ChainsleuthError, match="not available yet"):
        ingest_evm(con, node.url, "ethereum", to_block=node.eth.block_number(), confirmations=3)


def test_follow_mode_picks_up_new_blocks(node, tmp_path):
    mine_payments(node, 2, 2, ETHER)
    con = store.connect(tmp_path / "e.duckdb")
    polls = {"n": 0}

    def progress(stats, block, goal):
        # After the first range is written, mine more; stop once they are stored too.
        if polls["n"] == 0:
            mine_payments(node, 3, 3, ETHER)
        polls["n"] += 1

    def stop() -> bool:
        return con.execute("SELECT count(*) FROM blocks").fetchone()[0] >= 6

    stats = ingest_evm(con, node.url, "ethereum", from_block=0, follow=True, poll_interval=0.05, progress=progress,
                       stop=stop)
    assert stats.last_block == 5
    assert con.execute("SELECT max(number) FROM blocks").fetchone()[0] == 5
