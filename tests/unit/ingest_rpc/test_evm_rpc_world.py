"""EVM node ingestion against a real anvil: every kind of value flow, stored with exact amounts."""

from __future__ import annotations

import pytest

from chainsleuth import store
from chainsleuth.ingest import tron
from chainsleuth.ingest.evm_rpc import EvmRpcSource, ingest_evm
from chainsleuth.ingest.node_sync import sync
from node.ledger import all_transfers

pytestmark = [pytest.mark.node, pytest.mark.xdist_group("anvil")]


def stored_transfers(con, chain: str, tx_hash: str) -> list[tuple]:
    rows = con.execute(
        "SELECT kind, position, from_address, to_address, asset, coalesce(amount::VARCHAR, amount_overflow::VARCHAR) "
        "FROM transfers WHERE chain = ? AND tx_hash = ? ORDER BY seq",
        [chain, tx_hash],
    ).fetchall()
    return [(k, p, f, t, a, int(v)) for k, p, f, t, a, v in rows]


@pytest.fixture(scope="module")
def parity_db(tmp_path_factory, anvil, evm_world):
    con = store.connect(tmp_path_factory.mktemp("rpc") / "parity.duckdb")
    stats = ingest_evm(con, anvil.url, "ethereum", from_block=0, to_block=evm_world.last_block, batch_size=4)
    yield con, stats
    con.close()


def test_every_value_flow_is_stored_exactly(parity_db, evm_world):
    con, _ = parity_db
    for name, expected in evm_world.expect.items():
        got = stored_transfers(con, "ethereum", evm_world.txs[name])
        assert sorted(got) == sorted(expected), name


def test_failed_transaction_is_stored_but_moves_nothing(parity_db, evm_world):
    con, _ = parity_db
    h = evm_world.txs["failed"]
    status, value = con.execute("SELECT status, value FROM transactions WHERE hash = ?", [h]).fetchone()
    assert status == 0 and value == 3 * 10**18 // 4
    assert stored_transfers(con, "ethereum", h) == []
    # The caught inner revert: the outer call succeeded, the inner frame (and its child) moved nothing.
    assert con.execute("SELECT status FROM transactions WHERE hash = ?", [evm_world.txs["caught_revert"]]).fetchone() == (1,)


def test_blocks_transactions_and_fees(parity_db, anvil, evm_world):
    con, stats = parity_db
    n_blocks = evm_world.last_block + 1
    assert con.execute("SELECT count(*), min(number), max(number) FROM blocks").fetchone() == (n_blocks, 0, n_blocks - 1)
    assert stats.blocks == n_blocks and stats.last_block == evm_world.last_block
    # Parent links are stored and consistent.
    assert con.execute(
        "SELECT count(*) FROM blocks b JOIN blocks p ON p.number = b.number - 1 WHERE b.parent_hash <> p.hash"
    ).fetchone()[0] == 0
    receipt = anvil.eth.rpc("eth_getTransactionReceipt", evm_world.txs["split"])
    fee, gas_used, status = con.execute(
        "SELECT fee, gas_used, status FROM transactions WHERE hash = ?", [evm_world.txs["split"]]
    ).fetchone()
    assert gas_used == int(receipt["gasUsed"], 16)
    assert fee == int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)
    assert status == 1
    creation = con.execute("SELECT to_address FROM transactions WHERE hash = ?", [evm_world.txs["create_with_value"]])
    assert creation.fetchone() == (None,)  # schema: NULL on contract creation; the transfer names the contract
    state = con.execute("SELECT last_block, last_hash FROM ingest_state WHERE chain = 'ethereum'").fetchone()
    assert state[0] == evm_world.last_block
    assert state[1] == anvil.eth.rpc("eth_getBlockByNumber", hex(evm_world.last_block), False)["hash"]
    assert con.execute("SELECT traces FROM chains WHERE chain = 'ethereum'").fetchone() == (True,)


def test_erc721_transfers_are_not_token_amounts(parity_db, evm_world):
    con, _ = parity_db
    nft = evm_world.contracts["nft"]
    assert con.execute("SELECT count(*) FROM transfers WHERE asset = ?", [nft]).fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM transactions WHERE hash = ?", [evm_world.txs["nft"]]).fetchone()[0] == 1


def test_token_metadata_standard_and_non_standard(parity_db, evm_world):
    con, _ = parity_db
    meta = dict(
        (a, (s, n, d))
        for a, s, n, d in con.execute("SELECT asset, symbol, name, decimals FROM assets WHERE chain = 'ethereum'").fetchall()
    )
    assert meta[evm_world.contracts["token"]] == ("TUSD", "Test USD", 6)
    assert meta[evm_world.contracts["bytes32token"]] == ("MKR", "Maker", None)  # bytes32, no decimals()
    assert meta["ETH"] == ("ETH", "ETH", 18)


def test_amount_beyond_hugeint_kept_exactly(parity_db, evm_world):
    con, _ = parity_db
    row = con.execute(
        "SELECT amount, amount_overflow::VARCHAR FROM transfers WHERE tx_hash = ?", [evm_world.txs["junk"]]
    ).fetchone()
    assert row == (None, str(2**256 - 2))


def test_constructor_mint_is_a_token_transfer(parity_db, evm_world, anvil):
    con, _ = parity_db
    token = evm_world.contracts["token"]
    mint = con.execute(
        "SELECT from_address, to_address, amount FROM transfers WHERE asset = ? AND from_address = ?",
        [token, "0x" + "0" * 40],
    ).fetchall()
    assert mint == [("0x" + "0" * 40, anvil.accounts[0], 10**15)]


def test_geth_call_tracer_gives_the_same_transfers(parity_db, tmp_path, anvil, evm_world):
    con, _ = parity_db
    other = store.connect(tmp_path / "geth.duckdb")
    stats = ingest_evm(other, anvil.url, "ethereum", from_block=0, to_block=evm_world.last_block, traces="geth",
                       batch_size=7, workers=2)
    assert "traces: debug_traceBlockByNumber (callTracer)" in stats.notes
    assert all_transfers(other, "ethereum") == all_transfers(con, "ethereum")


def test_per_transaction_receipts_fallback(parity_db, tmp_path, anvil, evm_world):
    con, _ = parity_db
    other = store.connect(tmp_path / "tx-receipts.duckdb")
    src = EvmRpcSource(anvil.url, "ethereum")
    src.detect(0)
    src.caps.receipts = "tx"  # as on a node without eth_getBlockReceipts
    try:
        sync(other, src, start=0, end=evm_world.last_block, batch_size=5)
    finally:
        src.close()
    assert all_transfers(other, "ethereum") == all_transfers(con, "ethereum")
    assert other.execute("SELECT count(*) FROM transactions").fetchone() == con.execute(
        "SELECT count(*) FROM transactions").fetchone()


def test_without_traces_internal_transfers_are_skipped_and_said_so(parity_db, tmp_path, anvil, evm_world):
    con, _ = parity_db
    other = store.connect(tmp_path / "notrace.duckdb")
    stats = ingest_evm(other, anvil.url, "ethereum", from_block=0, to_block=evm_world.last_block, traces="none")
    assert "traces: skipped (no internal transfers)" in stats.notes
    assert other.execute("SELECT traces FROM chains WHERE chain = 'ethereum'").fetchone() == (False,)
    assert other.execute("SELECT count(*) FROM transfers WHERE kind = 'internal'").fetchone()[0] == 0
    want = con.execute("SELECT count(*) FROM transfers WHERE kind <> 'internal'").fetchone()[0]
    assert other.execute("SELECT count(*) FROM transfers").fetchone()[0] == want


def test_resume_and_rerun_are_idempotent(parity_db, tmp_path, anvil, evm_world):
    con, _ = parity_db
    other = store.connect(tmp_path / "resume.duckdb")
    mid = evm_world.last_block // 2
    first = ingest_evm(other, anvil.url, "ethereum", from_block=0, to_block=mid, batch_size=3)
    assert first.last_block == mid
    second = ingest_evm(other, anvil.url, "ethereum", to_block=evm_world.last_block)  # resumes after `mid`
    assert second.first_block == mid + 1 and second.last_block == evm_world.last_block
    again = ingest_evm(other, anvil.url, "ethereum", from_block=0, to_block=evm_world.last_block)
    assert again.blocks == 0 and again.skipped_blocks == evm_world.last_block + 1
    assert all_transfers(other, "ethereum") == all_transfers(con, "ethereum")
    assert other.execute("SELECT count(*) FROM loads WHERE kind = 'rpc'").fetchone()[0] == 3


def test_tron_addresses_in_base58(parity_db, tmp_path, anvil, evm_world):
    con, _ = parity_db
    other = store.connect(tmp_path / "tron.duckdb")
    ingest_evm(other, anvil.url, "tron", from_block=0, to_block=evm_world.last_block)
    want = [
        (k, p, tron.to_display(f), tron.to_display(t), a if a == "ETH" else tron.hex_to_base58(a), v)
        for k, p, f, t, a, v in stored_transfers(con, "ethereum", evm_world.txs["swap_eth_for_token"])
    ]
    got = stored_transfers(other, "tron", evm_world.txs["swap_eth_for_token"])
    # Native asset of TRON is TRX; everything else identical, addresses in T... form.
    assert got == [(k, p, f, t, "TRX" if a == "ETH" else a, v) for k, p, f, t, a, v in want]
    assert all(x.startswith("T") for r in got for x in (r[2], r[3]))
    token = tron.hex_to_base58(evm_world.contracts["token"])
    assert other.execute("SELECT symbol, decimals, contract FROM assets WHERE asset = ?", [token]).fetchone() == (
        "TUSD", 6, evm_world.contracts["token"])
    sender = other.execute("SELECT from_address FROM transactions WHERE hash = ?", [evm_world.txs["native"]]).fetchone()
    assert sender == (tron.hex_to_base58(evm_world.accounts[1]),)


def test_full_blocks_and_light_reads_agree(parity_db, tmp_path, anvil, evm_world):
    """Light reads (headers + block receipts + root traces) store exactly what full blocks give."""
    con, _ = parity_db
    other = store.connect(tmp_path / "full.duckdb")
    src = EvmRpcSource(anvil.url, "ethereum")
    assert src.detect(0).light
    src.caps.full_blocks = True
    try:
        sync(other, src, start=0, end=evm_world.last_block, batch_size=6)
    finally:
        src.close()
    assert all_transfers(other, "ethereum") == all_transfers(con, "ethereum")
    cols = "hash, block_number, block_time, tx_index, from_address, to_address, value, fee, gas_used, status"
    assert other.execute(f"SELECT {cols} FROM transactions ORDER BY ALL").fetchall() == con.execute(
        f"SELECT {cols} FROM transactions ORDER BY ALL").fetchall()
