"""The EVM chain as columns: transactions, ERC-20 Transfer logs, internal calls and genesis allocations,
and the ethereum-etl writer for them.

Generators append whole numpy arrays (one call per batch of similar transactions); nothing is ordered until
:meth:`EvmLedger.finalize`, which sorts by time, cuts 12-second blocks, numbers nonces and log indexes, and
prices gas at each block's base fee. Gas is EIP-1559 with a zero priority fee, so every fee is burnt: on
this chain ``sum(balances) = genesis + 0 - fees``, which the conservation tests check exactly.

ETH amounts exceed int64, so values are carried as two int64 limbs ``hi * 10**9 + lo`` (gwei and wei).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chainsleuth.simulate.encode import (
    GWEI,
    address_word,
    fixed_width_strings,
    hex_strings,
    keyed_bytes,
    splitmix64,
    uint_hex64,
    wei_strings,
)
from chainsleuth.simulate.world import ETH_BLOCK_S, T0, TOKEN_NAMES, TOKENS, AddressBook
from chainsleuth.simulate.writer import s, write_csv

# Call kinds: decide the calldata and trace shape of a transaction.
ETH_SEND, ERC20, SWAP, MIX_DEPOSIT, MIX_WITHDRAW, BRIDGE_LOCK, FLUSH, EXPLOIT, MINT = range(9)
SELECTORS = {
    SWAP: b"0x7ff36ab5",
    MIX_DEPOSIT: b"0xb214faa5",
    MIX_WITHDRAW: b"0x21a0adb6",
    BRIDGE_LOCK: b"0x0f5287b0",
    FLUSH: b"0x3ef13367",
    EXPLOIT: b"0xc9807539",
    MINT: b"0x40c10f19",
}
GAS = {  # (gas_used low, high, gas limit)
    ETH_SEND: (21000, 21000, 21000),
    ERC20: (34000, 52000, 90000),
    SWAP: (110000, 180000, 250000),
    MIX_DEPOSIT: (960000, 1010000, 1200000),
    MIX_WITHDRAW: (340000, 380000, 450000),
    BRIDGE_LOCK: (60000, 85000, 120000),
    FLUSH: (45000, 60000, 100000),
    EXPLOIT: (400000, 900000, 1500000),
    MINT: (50000, 70000, 100000),
}
FORWARDER_GAS = 31000  # an ETH deposit into a forwarder contract that passes the value on
BASEFEE_MAX = 45 * GWEI


#: ethereum-etl column order of transactions.csv (with the receipt_* columns of `stream`) and of
#: token_transfers.csv, as the real exports write them.
TRANSACTION_COLUMNS = (
    "hash",
    "nonce",
    "block_hash",
    "block_number",
    "transaction_index",
    "from_address",
    "to_address",
    "value",
    "gas",
    "gas_price",
    "input",
    "block_timestamp",
    "max_fee_per_gas",
    "max_priority_fee_per_gas",
    "transaction_type",
    "receipt_cumulative_gas_used",
    "receipt_gas_used",
    "receipt_contract_address",
    "receipt_root",
    "receipt_status",
    "receipt_effective_gas_price",
)
TOKEN_TRANSFER_COLUMNS = (
    "token_address",
    "from_address",
    "to_address",
    "value",
    "transaction_hash",
    "log_index",
    "block_number",
)


def base_fee(block: np.ndarray | int) -> np.ndarray:
    """Base fee per gas of each block (wei): a daily and weekly cycle with per-block digits, 6-45 gwei."""
    b = np.asarray(block, dtype=np.int64)
    cyc = 14 + 9 * np.sin(2 * np.pi * b / 7200) + 6 * np.sin(2 * np.pi * b / 50400 + 1)
    noise = (splitmix64(b.astype(np.uint64)) % np.uint64(4 * GWEI)).astype(np.int64)
    return (np.maximum(cyc, 6) * GWEI).astype(np.int64) + noise


#: Blocks are cut every 12 s, but the export holds one block per 5-minute window (the one our transactions
#: landed in): a thin slice of a busy chain, which keeps blocks.csv small. Block numbers and timestamps keep
#: their 12-second spacing.
WINDOW_BLOCKS = 25


def block_of(t: np.ndarray | int) -> np.ndarray:
    """Block number of a transaction submitted at second ``t`` (never the genesis block)."""
    w = np.asarray(t, dtype=np.int64) // (ETH_BLOCK_S * WINDOW_BLOCKS)
    pick = (splitmix64(w.astype(np.uint64)) % np.uint64(WINDOW_BLOCKS - 1)).astype(np.int64)
    return w * WINDOW_BLOCKS + 1 + pick


def fee_at(t: np.ndarray | int, gas_used: np.ndarray | int) -> np.ndarray:
    """Exact fee (wei) of a transaction at time ``t`` using ``gas_used`` gas."""
    return np.asarray(gas_used, dtype=np.int64) * base_fee(block_of(t))


def gas_used_for(rng: np.random.Generator, call: int, n: int) -> np.ndarray:
    lo, hi, _ = GAS[call]
    return rng.integers(lo, hi + 1, n) if hi > lo else np.full(n, lo, dtype=np.int64)


def _cat(parts: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)


class EvmLedger:
    """Append-only columns of the EVM chain; ids of transactions are positions in append order."""

    TX_COLS = (
        "time",
        "frm",
        "to",
        "vhi",
        "vlo",
        "gas_used",
        "gas_limit",
        "status",
        "call",
        "arg_to",
        "arg_amt",
    )

    def __init__(self, book: AddressBook, seed: int):
        self.book = book
        self.seed = seed
        self.tx: dict[str, list[np.ndarray]] = {k: [] for k in self.TX_COLS}
        self.logs: dict[str, list[np.ndarray]] = {k: [] for k in ("tx", "token", "frm", "to", "amt", "ord")}
        self.traces: dict[str, list[np.ndarray]] = {k: [] for k in ("tx", "frm", "to", "vhi", "vlo", "idx")}
        self.genesis: dict[str, list[np.ndarray]] = {k: [] for k in ("to", "vhi", "vlo")}
        self.n_tx = 0
        self.token_addr: dict[str, int] = {}
        self.builders = np.zeros(1, dtype=np.int64)  # fee recipients named in block headers
        self.finalized: FinalEvm | None = None

    # -- appending ---------------------------------------------------------------------------------------
    def add_txs(
        self,
        time,
        frm,
        to,
        *,
        call: int = ETH_SEND,
        vhi=0,
        vlo=0,
        gas_used=None,
        status=1,
        arg_to=-1,
        arg_amt=0,
        rng: np.random.Generator | None = None,
    ) -> np.ndarray:
        time = np.atleast_1d(np.asarray(time, dtype=np.int64))
        n = len(time)
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        if gas_used is None:
            assert rng is not None
            gas_used = gas_used_for(rng, call, n)
        vals = {
            "time": time,
            "frm": frm,
            "to": to,
            "vhi": vhi,
            "vlo": vlo,
            "gas_used": gas_used,
            "gas_limit": GAS[call][2],
            "status": status,
            "call": call,
            "arg_to": arg_to,
            "arg_amt": arg_amt,
        }
        for k in self.TX_COLS:
            self.tx[k].append(np.broadcast_to(np.asarray(vals[k], dtype=np.int64), (n,)).copy())
        ids = np.arange(self.n_tx, self.n_tx + n, dtype=np.int64)
        self.n_tx += n
        return ids

    def add_logs(self, tx, token, frm, to, amt, ord_=0) -> None:
        tx = np.atleast_1d(np.asarray(tx, dtype=np.int64))
        n = len(tx)
        for k, v in (("tx", tx), ("token", token), ("frm", frm), ("to", to), ("amt", amt), ("ord", ord_)):
            self.logs[k].append(np.broadcast_to(np.asarray(v, dtype=np.int64), (n,)).copy())

    def add_traces(self, tx, frm, to, vhi, vlo, idx=0) -> None:
        tx = np.atleast_1d(np.asarray(tx, dtype=np.int64))
        n = len(tx)
        for k, v in (("tx", tx), ("frm", frm), ("to", to), ("vhi", vhi), ("vlo", vlo), ("idx", idx)):
            self.traces[k].append(np.broadcast_to(np.asarray(v, dtype=np.int64), (n,)).copy())

    def add_genesis(self, to, vhi, vlo) -> None:
        to = np.atleast_1d(np.asarray(to, dtype=np.int64))
        for k, v in (("to", to), ("vhi", vhi), ("vlo", vlo)):
            self.genesis[k].append(np.broadcast_to(np.asarray(v, dtype=np.int64), (len(to),)).copy())

    def col(self, table: str, name: str) -> np.ndarray:
        """The whole column (read-only). The appended pieces are merged into one array on first use and kept
        merged, so later calls (the writers and the truth ask for the same columns many times) copy nothing."""
        parts = getattr(self, table)[name]
        if len(parts) != 1:
            merged = _cat(parts, np.int64)
            merged.flags.writeable = False
            parts[:] = [merged]
        return parts[0]

    # -- balances (for service endowments) ---------------------------------------------------------------
    def outflows(self, ids: np.ndarray) -> tuple[dict[int, int], dict[tuple[int, int], int]]:
        """Everything the addresses ``ids`` pay out (ETH incl. fees, per token), as exact Python ints."""
        want = np.asarray(ids, dtype=np.int64)
        time, frm, status = self.col("tx", "time"), self.col("tx", "frm"), self.col("tx", "status")
        eth: dict[int, int] = {int(i): 0 for i in want}
        m = np.isin(frm, want)
        if m.any():
            fee = fee_at(time[m], self.col("tx", "gas_used")[m])
            ok = status[m] == 1
            vhi, vlo = self.col("tx", "vhi")[m] * ok, self.col("tx", "vlo")[m] * ok
            _acc(eth, frm[m], vhi, vlo + fee)
        tfrm = self.col("traces", "frm")
        m = np.isin(tfrm, want)
        if m.any():
            tx_ok = status[self.col("traces", "tx")[m]] == 1
            _acc(eth, tfrm[m], self.col("traces", "vhi")[m] * tx_ok, self.col("traces", "vlo")[m] * tx_ok)
        tok: dict[tuple[int, int], int] = {}
        lfrm = self.col("logs", "frm")
        m = np.isin(lfrm, want)
        if m.any():
            for f, t, a in zip(
                lfrm[m].tolist(),
                self.col("logs", "token")[m].tolist(),
                self.col("logs", "amt")[m].tolist(),
                strict=True,
            ):
                tok[(f, t)] = tok.get((f, t), 0) + a
        return eth, tok

    def finalize(self) -> FinalEvm:
        self.finalized = FinalEvm.build(self)
        return self.finalized


def _acc(acc: dict[int, int], who: np.ndarray, hi: np.ndarray, lo: np.ndarray) -> None:
    order = np.argsort(who, kind="stable")
    w, h, lo_ = who[order], hi[order], lo[order]
    uniq, start = np.unique(w, return_index=True)
    hs, ls = np.add.reduceat(h, start), np.add.reduceat(lo_, start)
    for u, a, b in zip(uniq.tolist(), hs.tolist(), ls.tolist(), strict=True):
        acc[u] = acc.get(u, 0) + a * GWEI + b


@dataclass
class FinalEvm:
    """The chain in block order, ready to write (and to look up hashes for the truth file)."""

    ledger: EvmLedger
    order: np.ndarray  # sorted position -> tx id
    pos: np.ndarray  # tx id -> sorted position
    block: np.ndarray  # per sorted tx
    tx_index: np.ndarray
    nonce: np.ndarray
    gas_price: np.ndarray
    hashes: pa.StringArray  # per sorted tx
    blocks: np.ndarray  # block numbers written (sorted, with 0)
    log_order: np.ndarray
    log_index: np.ndarray

    @classmethod
    def build(cls, led: EvmLedger) -> FinalEvm:
        time = led.col("tx", "time")
        n = len(time)
        # blocks are a non-decreasing function of time, so (block, time, id) order is a stable sort by time
        order = np.argsort(time, kind="stable")
        pos = np.empty(n, dtype=np.int64)
        pos[order] = np.arange(n)
        block = block_of(time[order])
        if n and block.min() < 1:
            raise AssertionError("transactions must come after the genesis block")
        if n > 1 and (np.diff(block) < 0).any():
            raise AssertionError("block_of must not decrease with time")
        starts = np.r_[0, np.flatnonzero(np.diff(block)) + 1]
        first_of_block = np.repeat(starts, np.diff(np.r_[starts, n]))
        tx_index = np.arange(n) - first_of_block
        frm = led.col("tx", "frm")[order]
        by_sender = np.argsort(frm, kind="stable")
        fs = frm[by_sender]
        gstart = np.r_[0, np.flatnonzero(np.diff(fs)) + 1]
        nonce = np.empty(n, dtype=np.int64)
        nonce[by_sender] = np.arange(n) - np.repeat(gstart, np.diff(np.r_[gstart, n]))
        hashes = hex_strings(keyed_bytes(led.seed, 11, np.arange(n)))
        blocks = np.unique(np.r_[0, block])
        ltx = led.col("logs", "tx")
        lpos = pos[ltx] if len(ltx) else ltx
        log_order = np.lexsort((led.col("logs", "ord"), lpos))
        lblock = block[lpos[log_order]] if len(ltx) else ltx
        lstarts = np.r_[0, np.flatnonzero(np.diff(lblock)) + 1] if len(ltx) else np.zeros(0, dtype=np.int64)
        log_index = (
            (np.arange(len(ltx)) - np.repeat(lstarts, np.diff(np.r_[lstarts, len(ltx)]))) if len(ltx) else ltx
        )
        return cls(
            led, order, pos, block, tx_index, nonce, base_fee(block), hashes, blocks, log_order, log_index
        )

    def tx_hash(self, tx_id: int) -> str:
        return self.hashes[int(self.pos[tx_id])].as_py()

    def tx_time(self, tx_id: int) -> int:
        return T0 + int(self.block[self.pos[tx_id]]) * ETH_BLOCK_S

    # -- writing ------------------------------------------------------------------------------------------
    FILES = ("transactions", "token_transfers", "traces", "blocks", "tokens")

    def write(
        self, folder: Path, token_meta: dict[str, tuple[int, int]], files: tuple[str, ...] = FILES
    ) -> dict[str, int]:
        """Write ``files`` (default all: blocks.csv, transactions.csv, token_transfers.csv, traces.csv,
        tokens.csv); returns row counts."""
        folder.mkdir(parents=True, exist_ok=True)
        led = self.ledger
        addr = led.book.strings()
        writers = {
            "transactions": lambda p: self._write_transactions(p, led.book.hex40(), addr),
            "token_transfers": lambda p: self._write_token_transfers(p, addr),
            "traces": lambda p: self._write_traces(p, addr),
            "blocks": lambda p: self._write_blocks(p, addr),
            "tokens": lambda p: self._write_tokens(p, token_meta),
        }
        return {f: writers[f](folder / f"{f}.csv") for f in files}

    def _block_hash(self, blocks: np.ndarray) -> pa.StringArray:
        return _hex32(keyed_bytes(self.ledger.seed, 12, blocks))

    def _write_transactions(self, path: Path, book_hex: np.ndarray, addr: pa.StringArray) -> int:
        led, o = self.ledger, self.order
        cols = {k: led.col("tx", k)[o] for k in led.TX_COLS}
        n = len(o)
        cum = np.zeros(n, dtype=np.int64)
        if n:
            cs = np.cumsum(cols["gas_used"])
            starts = np.r_[0, np.flatnonzero(np.diff(self.block)) + 1]
            base = np.repeat(np.r_[0, cs][starts], np.diff(np.r_[starts, n]))
            cum = cs - base
        header = list(TRANSACTION_COLUMNS)

        block_hashes = self._block_hash(self.blocks)

        def rows(lo: int, hi: int) -> list[pa.Array]:
            sl = slice(lo, hi)
            blk = self.block[sl]
            price = self.gas_price[sl]
            price_s = s(price)
            max_fee = (price // GWEI + 1) * GWEI * 2
            return [
                self.hashes[lo:hi],
                s(self.nonce[sl]),
                pc.take(block_hashes, pa.array(np.searchsorted(self.blocks, blk))),
                s(blk),
                s(self.tx_index[sl]),
                pc.take(addr, pa.array(cols["frm"][sl])),
                pc.take(addr, pa.array(cols["to"][sl])),
                wei_strings(cols["vhi"][sl], cols["vlo"][sl]),
                s(cols["gas_limit"][sl]),
                price_s,
                self._input(cols, sl, book_hex),
                s(T0 + blk * ETH_BLOCK_S),
                s(max_fee),
                "0",
                "2",
                s(cum[sl]),
                s(cols["gas_used"][sl]),
                "",
                "",
                s(cols["status"][sl]),
                price_s,
            ]

        write_csv(path, header, n, rows)
        return n

    def _input(self, cols: dict[str, np.ndarray], sl: slice, book_hex: np.ndarray) -> pa.Array:
        """Calldata: '0x' for plain sends, ERC-20 ``transfer(to, amount)`` in full, selector + random words
        (commitments, proofs) for contract calls. Built per call kind, then put back in row order."""
        call = cols["call"][sl]
        n = len(call)
        idx = np.arange(sl.start, sl.stop)
        parts: list[pa.Array] = []
        where: list[np.ndarray] = []
        m = call == ETH_SEND
        parts.append(pa.array(["0x"] * int(m.sum()), type=pa.string()))
        where.append(np.flatnonzero(m))
        m = call == ERC20
        if m.any():
            body = np.hstack(
                [address_word(book_hex[cols["arg_to"][sl][m]]), uint_hex64(cols["arg_amt"][sl][m])]
            )
            pre = np.broadcast_to(np.frombuffer(b"0xa9059cbb", np.uint8), (int(m.sum()), 10))
            parts.append(fixed_width_strings(np.hstack([pre, body])))
            where.append(np.flatnonzero(m))
        for kind, sel in SELECTORS.items():
            m = call == kind
            if not m.any():
                continue
            words = 2 if kind in (MIX_DEPOSIT, SWAP, BRIDGE_LOCK, MINT) else 4
            parts.append(hex_strings(keyed_bytes(self.ledger.seed, 13, idx[m], 32 * words), sel))
            where.append(np.flatnonzero(m))
        pos = np.concatenate(where)
        inverse = np.empty(n, dtype=np.int64)
        inverse[pos] = np.arange(n)
        return pc.take(pa.concat_arrays([p.cast(pa.string()) for p in parts]), pa.array(inverse))

    def _write_token_transfers(self, path: Path, addr: pa.StringArray) -> int:
        led = self.ledger
        lo_ = self.log_order
        tx = led.col("logs", "tx")[lo_]
        token = led.col("logs", "token")[lo_]
        token_ids = np.array([led.token_addr[t] for t in TOKENS], dtype=np.int64)
        frm, to, amt = (led.col("logs", k)[lo_] for k in ("frm", "to", "amt"))
        sp = self.pos[tx] if len(tx) else tx
        header = list(TOKEN_TRANSFER_COLUMNS)

        def rows(lo: int, hi: int) -> list[pa.Array]:
            sl = slice(lo, hi)
            return [
                pc.take(addr, pa.array(token_ids[token[sl]])),
                pc.take(addr, pa.array(frm[sl])),
                pc.take(addr, pa.array(to[sl])),
                s(amt[sl]),
                pc.take(self.hashes, pa.array(sp[sl])),
                s(self.log_index[sl]),
                s(self.block[sp[sl]]),
            ]

        write_csv(path, header, len(tx), rows)
        return len(tx)

    def _write_traces(self, path: Path, addr: pa.StringArray) -> int:
        """Top-level call of every transaction, the value-carrying internal calls, and genesis allocations."""
        led = self.ledger
        n = len(self.order)
        ttx = led.col("traces", "tx")
        tpos = self.pos[ttx] if len(ttx) else ttx
        sub = np.bincount(tpos, minlength=n) if len(ttx) else np.zeros(n, dtype=np.int64)
        cols = {
            k: led.col("tx", k)[self.order]
            for k in ("frm", "to", "vhi", "vlo", "status", "gas_used", "gas_limit", "call")
        }
        # rows: (sorted tx position, trace depth key) -> root rows key -1, children key idx
        g_to = led.col("genesis", "to")
        ng = len(g_to)
        kinds = np.r_[
            np.zeros(ng, dtype=np.int8), np.ones(n, dtype=np.int8), np.full(len(ttx), 2, dtype=np.int8)
        ]
        posk = np.r_[np.full(ng, -1, dtype=np.int64), np.arange(n), tpos]
        sub_key = np.r_[np.arange(ng), np.full(n, -1, dtype=np.int64), led.col("traces", "idx")]
        order = np.lexsort((sub_key, posk))
        kinds, posk, sub_key = kinds[order], posk[order], sub_key[order]
        src = np.r_[np.arange(ng), np.arange(n), np.arange(len(ttx))][order]
        tfrm, tto, tvhi, tvlo = (led.col("traces", k) for k in ("frm", "to", "vhi", "vlo"))
        gvhi, gvlo = led.col("genesis", "vhi"), led.col("genesis", "vlo")
        total = len(order)
        header = [
            "block_number",
            "transaction_hash",
            "transaction_index",
            "from_address",
            "to_address",
            "value",
            "input",
            "output",
            "trace_type",
            "call_type",
            "reward_type",
            "gas",
            "gas_used",
            "subtraces",
            "trace_address",
            "error",
            "status",
            "trace_id",
        ]

        def rows(lo: int, hi: int) -> list[pa.Array]:
            k, p, sk, sr = kinds[lo:hi], posk[lo:hi], sub_key[lo:hi], src[lo:hi]
            g, r, c = k == 0, k == 1, k == 2
            pp = np.where(g, 0, p)
            frm = np.where(r, cols["frm"][pp], np.where(c, tfrm[np.where(c, sr, 0)] if len(tfrm) else 0, -1))
            to = np.where(
                g,
                g_to[np.where(g, sr, 0)] if ng else 0,
                np.where(r, cols["to"][pp], tto[np.where(c, sr, 0)] if len(tto) else 0),
            )
            vhi = np.where(
                g,
                gvhi[np.where(g, sr, 0)] if ng else 0,
                np.where(r, cols["vhi"][pp], tvhi[np.where(c, sr, 0)] if len(tvhi) else 0),
            )
            vlo = np.where(
                g,
                gvlo[np.where(g, sr, 0)] if ng else 0,
                np.where(r, cols["vlo"][pp], tvlo[np.where(c, sr, 0)] if len(tvlo) else 0),
            )
            status = np.where(g, 1, cols["status"][pp])
            failed = status == 0
            h = pc.if_else(pa.array(g), pa.scalar("", pa.string()), pc.take(self.hashes, pa.array(pp)))
            frm_s = pc.if_else(
                pa.array(g), pa.scalar("", pa.string()), pc.take(addr, pa.array(np.maximum(frm, 0)))
            )
            ta = pc.if_else(pa.array(c), s(sk), pa.scalar("", pa.string()))
            blk = np.where(g, 0, self.block[pp])
            gas = np.where(r, cols["gas_limit"][pp] - 21000, 2300)
            gas_used = np.where(r, cols["gas_used"][pp] - 21000, 0)
            gid = pc.binary_join_element_wise("genesis_0_", s(sk), "")
            cid = pc.binary_join_element_wise("call_", h, "_", ta, "")
            return [
                s(blk),
                h,
                pc.if_else(pa.array(g), pa.scalar("", pa.string()), s(self.tx_index[pp])),
                frm_s,
                pc.take(addr, pa.array(to)),
                wei_strings(vhi, vlo),
                pc.if_else(pa.array(g), pa.scalar("", pa.string()), pa.scalar("0x", pa.string())),
                pc.if_else(pa.array(g | failed), pa.scalar("", pa.string()), pa.scalar("0x", pa.string())),
                pc.if_else(pa.array(g), pa.scalar("genesis", pa.string()), pa.scalar("call", pa.string())),
                pc.if_else(pa.array(g), pa.scalar("", pa.string()), pa.scalar("call", pa.string())),
                "",
                pc.if_else(pa.array(g), pa.scalar("", pa.string()), s(gas)),
                pc.if_else(pa.array(g | failed), pa.scalar("", pa.string()), s(np.maximum(gas_used, 0))),
                s(np.where(r, sub[pp], 0)),
                ta,
                pc.if_else(
                    pa.array(failed & r), pa.scalar("Reverted", pa.string()), pa.scalar("", pa.string())
                ),
                s(status.astype(np.int64)),
                pc.if_else(pa.array(g), gid, cid),
            ]

        write_csv(path, header, total, rows, quote=["trace_address"])
        return total

    def _write_blocks(self, path: Path, addr: pa.StringArray) -> int:
        blocks = self.blocks
        nb = len(blocks)
        counts = (
            np.bincount(np.searchsorted(blocks, self.block), minlength=nb)
            if len(self.block)
            else np.zeros(nb, np.int64)
        )
        gas_used = np.zeros(nb, dtype=np.int64)
        if len(self.block):
            np.add.at(
                gas_used, np.searchsorted(blocks, self.block), self.ledger.col("tx", "gas_used")[self.order]
            )
        builders = self.ledger.builders
        miner = builders[splitmix64(blocks.astype(np.uint64)) % np.uint64(len(builders))]
        zeros_bloom = "0x" + "0" * 512
        header = [
            "number",
            "hash",
            "parent_hash",
            "nonce",
            "sha3_uncles",
            "logs_bloom",
            "transactions_root",
            "state_root",
            "receipts_root",
            "miner",
            "difficulty",
            "total_difficulty",
            "size",
            "extra_data",
            "gas_limit",
            "gas_used",
            "timestamp",
            "transaction_count",
            "base_fee_per_gas",
            "withdrawals_root",
            "withdrawals",
        ]

        def rows(lo: int, hi: int) -> list[pa.Array]:
            b = blocks[lo:hi]
            m = hi - lo
            const = lambda v: pa.array([v] * m)  # noqa: E731
            return [
                s(b),
                self._block_hash(b),
                self._block_hash(np.maximum(b - 1, 0)),
                const("0x0000000000000000"),
                const("0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"),
                const(zeros_bloom),
                _hex32(keyed_bytes(self.ledger.seed, 14, b)),
                _hex32(keyed_bytes(self.ledger.seed, 15, b)),
                _hex32(keyed_bytes(self.ledger.seed, 16, b)),
                pc.take(addr, pa.array(miner[lo:hi].astype(np.int64))),
                const("0"),
                const("58750003716598352816469"),
                s(620 + 160 * counts[lo:hi]),
                const("0x6265617665726275696c642e6f7267"),
                const("30000000"),
                s(gas_used[lo:hi]),
                s(T0 + b * ETH_BLOCK_S),
                s(counts[lo:hi]),
                s(base_fee(b)),
                _hex32(keyed_bytes(self.ledger.seed, 17, b)),
                const("[]"),
            ]

        # block 0's parent is the zero hash
        def rows0(lo: int, hi: int) -> list[pa.Array]:
            r = rows(lo, hi)
            if lo == 0 and nb:
                r[2] = pa.concat_arrays([pa.array(["0x" + "0" * 64]), r[2][1:]])
            return r

        write_csv(path, header, nb, rows0)
        return nb

    def _write_tokens(self, path: Path, meta: dict[str, tuple[int, int]]) -> int:
        addr = self.ledger.book.strings()
        header = ["address", "symbol", "name", "decimals", "total_supply", "block_number"]
        syms = list(TOKENS)

        def rows(lo: int, hi: int) -> list[pa.Array]:
            return [
                pa.array([addr[self.ledger.token_addr[t]].as_py() for t in syms]),
                pa.array(syms),
                pa.array([TOKEN_NAMES[t] for t in syms]),
                pa.array([str(meta[t][0]) for t in syms]),
                pa.array([str(meta[t][1]) for t in syms]),
                pa.array([""] * len(syms)),
            ]

        write_csv(path, header, len(syms), rows)
        return len(syms)


def _hex32(raw: np.ndarray) -> pa.StringArray:
    return hex_strings(raw)


__all__ = ["EvmLedger", "FinalEvm", "base_fee", "fee_at", "block_of"]
