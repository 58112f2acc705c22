"""Peer cross-check: ethereum-etl exports the same anvil range; loading its export through the ETL path and
ingesting over RPC must store identical transfers."""

from __future__ import annotations

import subprocess

import pytest

from chainsleuth import store
from chainsleuth.ingest.etl import load_etl
from node.ledger import all_transfers
from node.tools import ETHEREUMETL, require

pytestmark = [pytest.mark.node, pytest.mark.slow, pytest.mark.xdist_group("anvil")]


def export_with_ethereum_etl(url: str, last: int, out) -> None:
    """blocks+transactions, receipts, token transfers and parity traces for blocks 0..last."""
    etl = str(require(ETHEREUMETL, "ethereum-etl (its own virtualenv in .tools)"))
    rng = ["-s", "0", "-e", str(last), "-p", url]
    steps = [
        ["export_blocks_and_transactions", *rng, "--blocks-output", f"{out}/blocks.csv",
         "--transactions-output", f"{out}/transactions.csv"],
        ["extract_csv_column", "-i", f"{out}/transactions.csv", "-c", "hash", "-o", f"{out}/tx_hashes.txt"],
        ["export_receipts_and_logs", "--transaction-hashes", f"{out}/tx_hashes.txt", "-p", url,
         "--receipts-output", f"{out}/receipts.csv"],
        ["export_token_transfers", *rng, "-o", f"{out}/token_transfers.csv"],
        ["export_traces", *rng, "-o", f"{out}/traces.csv"],
    ]
    for step in steps:
        proc = subprocess.run([etl, *step], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, f"ethereumetl {step[0]}: {proc.stderr[-2000:]}"


def test_rpc_and_ethereum_etl_store_identical_transfers(tmp_path, anvil, evm_world):
    out = tmp_path / "export"
    out.mkdir()
    export_with_ethereum_etl(anvil.url, evm_world.last_block, out)
    via_etl = store.connect(tmp_path / "etl.duckdb")
    load_etl(via_etl, out, "ethereum")
    from chainsleuth.ingest.evm_rpc import ingest_evm

    via_rpc = store.connect(tmp_path / "rpc.duckdb")
    ingest_evm(via_rpc, anvil.url, "ethereum", from_block=0, to_block=evm_world.last_block)

    nft = evm_world.contracts["nft"]
    etl_rows = all_transfers(via_etl, "ethereum")
    rpc_rows = all_transfers(via_rpc, "ethereum")
    # The one known disagreement: ethereum-etl reads an ERC-721 Transfer (token id indexed) as an ERC-20
    # amount; the RPC path does not store token ids as amounts.
    nft_rows = [r for r in etl_rows if r[9] == nft]
    assert [(r[2], r[11] or r[10]) for r in nft_rows] == [(evm_world.txs["nft"], 7)]
    assert [r for r in etl_rows if r[9] != nft] == rpc_rows
    assert len(rpc_rows) > 20

    cols = "hash, block_number, block_time, tx_index, from_address, value, fee, gas_price, gas_used, status"
    assert via_etl.execute(f"SELECT {cols} FROM transactions ORDER BY ALL").fetchall() == via_rpc.execute(
        f"SELECT {cols} FROM transactions ORDER BY ALL").fetchall()
    q = "SELECT number, hash, parent_hash, block_time, tx_count FROM blocks ORDER BY ALL"
    assert via_etl.execute(q).fetchall() == via_rpc.execute(q).fetchall()
