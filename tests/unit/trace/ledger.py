"""Build small real ledgers for tracing tests by inserting rows into a real DuckDB database."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import duckdb

from chainsleuth.labels.tagstore import add_tag
from chainsleuth.store.ledger import ensure_chain

T0 = datetime(2024, 3, 1)
ETH = 10**18


def addr(name: str) -> str:
    """A deterministic EVM address for a readable name."""
    return "0x" + hashlib.sha256(name.encode()).hexdigest()[:40]


def txh(*parts: object) -> str:
    return "0x" + hashlib.sha256(repr(parts).encode()).hexdigest()


class Ledger:
    """Append transfers block by block; ``send`` returns the transaction hash."""

    def __init__(self, con: duckdb.DuckDBPyConnection, chain: str = "ethereum"):
        self.con, self.chain = con, chain
        ensure_chain(con, chain)
        self.rows: list[tuple] = []
        self.fees: list[tuple] = []
        self._tx_in_block: dict[int, int] = {}

    def token(self, contract: str, symbol: str, decimals: int) -> str:
        self.con.execute("INSERT INTO assets VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                         [self.chain, contract, symbol, symbol, decimals, contract])
        return contract

    def send(self, block: int, frm: str | None, to: str, amount: int, asset: str = "ETH", *, tx: str | None = None,
             fee: int = 0, seq: int | None = None) -> str:
        if tx is None:
            idx = self._tx_in_block.get(block, 0)
            self._tx_in_block[block] = idx + 1
            tx = txh(self.chain, block, idx)
            tx_index = idx
        else:
            tx_index = next((r[4] for r in self.rows if r[3] == tx), None)
            if tx_index is None:
                tx_index = self._tx_in_block.get(block, 0)
                self._tx_in_block[block] = tx_index + 1
        n_in_tx = sum(1 for r in self.rows if r[3] == tx)
        kind = "native" if asset == "ETH" else "token"
        self.rows.append((self.chain, block, T0 + timedelta(seconds=12 * block), tx, tx_index, kind,
                          f"{kind}:{n_in_tx}", n_in_tx if seq is None else seq, frm, to, asset, amount))
        if fee:
            self.fees.append((self.chain, tx, block, T0 + timedelta(seconds=12 * block), tx_index, frm, fee))
        return tx

    def price(self, symbol: str, usd: float, days: int = 60) -> None:
        for d in range(days):
            self.con.execute("INSERT INTO prices (symbol, day, usd) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                             [symbol, (T0 + timedelta(days=d)).date(), usd])

    def tag(self, address: str, label: str, category: str) -> None:
        add_tag(self.con, address, label, chain=self.chain, category=category, source="test")

    def commit(self) -> None:
        self.con.executemany(
            "INSERT INTO transfers (chain, block_number, block_time, tx_hash, tx_index, kind, position, seq, "
            "from_address, to_address, asset, amount) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self.rows)
        if self.fees:
            self.con.executemany(
                "INSERT INTO transactions (chain, hash, block_number, block_time, tx_index, from_address, fee, "
                "status) VALUES (?, ?, ?, ?, ?, ?, ?, 1)", self.fees)
        self.rows, self.fees = [], []
        self.con.execute("SELECT 1")


class Utxo:
    """A tiny bitcoin ledger written straight into the canonical tables. ``unstored`` inputs spend outputs the
    ledger does not hold (prev_tx, output_index, address, value); ``listed=False`` leaves the transaction out
    of ``transactions`` (partial data: only its outputs and inputs are known)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, chain: str = "bitcoin"):
        self.con, self.chain = con, chain
        ensure_chain(con, chain)
        self.outs: dict[tuple[str, int], tuple[str | None, int]] = {}
        self.blocks: dict[int, int] = {}

    def tx(self, block: int, name: str, inputs: list[tuple[str, int]], outputs: list[tuple[str | None, int]], *,
           unstored: list[tuple[str, int, str | None, int]] = (), listed: bool = True) -> str:
        t = T0 + timedelta(minutes=10 * block)
        idx = self.blocks.get(block, 0)
        self.blocks[block] = idx + 1
        spent = [(prev, oi, *self.outs[(prev, oi)]) for prev, oi in inputs] + list(unstored)
        fee = sum(v for *_k, v in spent) - sum(v for _a, v in outputs) if spent else 0
        assert fee >= 0, name
        for n, (prev, oi, a, v) in enumerate(spent):
            self.con.execute(f"INSERT INTO utxo_inputs VALUES ('{self.chain}', ?, ?, ?, ?, ?, ?, ?, ?)",
                             [name, n, block, t, prev, oi, a, v])
        for n, (a, v) in enumerate(outputs):
            self.outs[(name, n)] = (a, v)
            self.con.execute(f"INSERT INTO utxo_outputs VALUES ('{self.chain}', ?, ?, ?, ?, ?, 'witness_v0_keyhash', "
                             "'', ?)", [name, n, block, t, a, v])
        if listed:
            self.con.execute(
                "INSERT INTO transactions (chain, hash, block_number, block_time, tx_index, fee, is_coinbase, "
                "input_count, output_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [self.chain, name, block, t, idx, fee, not spent, len(spent), len(outputs)])
        return name
