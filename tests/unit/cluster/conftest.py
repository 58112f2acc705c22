"""Helpers that write small, hand-checkable UTXO and EVM ledgers into a real DuckDB file."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools

import pytest

from chainsleuth.store.ledger import ensure_chain

T0 = dt.datetime(2024, 1, 1)


class UtxoLedger:
    """Adds transactions to ``utxo_inputs``/``utxo_outputs``; each input spends a funding output created on
    the fly (so input values and script types resolve like real data)."""

    def __init__(self, con, chain: str = "bitcoin"):
        self.con, self.chain = con, chain
        ensure_chain(con, chain)
        self.block = itertools.count(1)
        self.n = itertools.count()

    def _hash(self, tag: str) -> str:
        return hashlib.sha256(f"{tag}-{next(self.n)}".encode()).hexdigest()

    def tx(self, inputs, outputs, txid: str | None = None, spends=None) -> str:
        """inputs: [(address, value, script_type)]; outputs: [(address, value, script_type)].
        ``spends`` optionally gives (tx_hash, output_index) per input instead of a fresh funding output."""
        block = next(self.block)
        when = T0 + dt.timedelta(minutes=10 * block)
        txid = txid or self._hash("tx")
        for i, (addr, value, script) in enumerate(inputs):
            if spends is not None and spends[i] is not None:
                src, idx = spends[i]
            else:
                src, idx = self._hash("fund"), 0
                self.con.execute(
                    "INSERT INTO utxo_outputs VALUES (?, ?, 0, ?, ?, ?, ?, NULL, ?)",
                    [self.chain, src, block - 1 if block > 1 else 0, when, addr, script, value],
                )
            self.con.execute(
                "INSERT INTO utxo_inputs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [self.chain, txid, i, block, when, src, idx, addr, value],
            )
        for j, (addr, value, script) in enumerate(outputs):
            self.con.execute(
                "INSERT INTO utxo_outputs VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)",
                [self.chain, txid, j, block, when, addr, script, value],
            )
        return txid


@pytest.fixture
def utxo(con):
    return UtxoLedger(con)


class EvmLedger:
    """Adds value transfers (one transaction each) to ``transfers``."""

    def __init__(self, con, chain: str = "ethereum"):
        self.con, self.chain = con, chain
        ensure_chain(con, chain)
        self.n = itertools.count(1)

    def send(self, frm: str, to: str, amount: int, asset: str = "ETH", *, hours: float | None = None,
             kind: str | None = None) -> str:
        i = next(self.n)
        tx = "0x" + hashlib.sha256(f"evm-{i}".encode()).hexdigest()
        when = T0 + dt.timedelta(hours=hours if hours is not None else i)
        kind = kind or ("native" if asset == "ETH" else "token")
        self.con.execute(
            "INSERT INTO transfers VALUES (?, ?, ?, ?, 0, ?, ?, 0, ?, ?, ?, ?, NULL)",
            [self.chain, i, when, tx, kind, "" if kind == "native" else "0", frm, to, asset, amount],
        )
        return tx


@pytest.fixture
def evm(con):
    return EvmLedger(con)
