"""The UTXO chain: a round-based engine over an unspent-output pool, and the bitcoin-etl writer.

Time advances in rounds of a few blocks. In each round, scheduled actions run first (service payments, the
incidents' moves), then the background economy spends, sweeps, withdraws and mixes. Only outputs created
in earlier rounds are spendable, so every input refers to an output that already exists and every output is
spent at most once by construction; a coinbase per block collects the subsidy plus the block's fees.
Transactions are built a batch at a time from (input pool index, group) and (group, output) arrays.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chainsleuth.simulate.encode import BTC_SCRIPTS, BTC_TYPES, fixed_width_strings, hex_matrix, keyed_bytes
from chainsleuth.simulate.world import BTC_BLOCK_S, T0, AddressBook
from chainsleuth.simulate.writer import by_kind, group_join, join_lines, s, write_lines

POOL_COLS = ("owner", "addr", "value", "tx", "vout", "ready")
SUBSIDY = 312_500_000
DUST = 546
COINBASE_MATURITY_BLOCKS = 100


def vsize(n_in: np.ndarray | int, n_out: np.ndarray | int) -> np.ndarray | int:
    """Virtual size estimate of a P2WPKH-style transaction (bytes); a plain int for plain ints (asked once
    per payment, tens of thousands of times)."""
    if isinstance(n_in, int) and isinstance(n_out, int):
        return 11 + 68 * n_in + 31 * n_out
    return 11 + 68 * np.asarray(n_in) + 31 * np.asarray(n_out)


class UtxoEngine:
    """Unspent pool + append-only logs of transactions, inputs and outputs."""

    def __init__(
        self, book: AddressBook, seed: int, rng: np.random.Generator, blocks_per_round: int, rounds: int
    ):
        self.book, self.seed, self.rng = book, seed, rng
        self.bpr, self.rounds = blocks_per_round, rounds
        # unspent pool: columns in creation order (so sorted by transaction id) with spare capacity; spent
        # entries stay (p_alive False) until they are a quarter of the pool, then one compaction drops them
        self._cols = [np.zeros(0, np.int64) for _ in POOL_COLS]
        self._alive = np.zeros(0, bool)
        self._n = 0
        self._dead = 0
        self._new: list[tuple[np.ndarray, ...]] = []
        # logs
        self.tx_block: list[np.ndarray] = []
        self.tx_coinbase: list[np.ndarray] = []
        self.n_tx = 0
        self.ins: dict[str, list[np.ndarray]] = defaultdict(list)
        self.outs: dict[str, list[np.ndarray]] = defaultdict(list)
        self.block_fees = np.zeros(rounds * blocks_per_round + 2, dtype=np.int64)
        self.schedule: dict[int, list[Callable[[UtxoEngine, int], None]]] = defaultdict(list)
        self.round = 0
        self.user_limit = 0  # owners below this id are ordinary users; the rest (services) are few
        self._svc: dict[int, np.ndarray] = {}  # service owner -> its pool indexes (pool order)
        self._svc_from: dict[tuple[int, tuple[int, ...]], np.ndarray] = {}  # (owner, addresses) -> indexes
        self._owner_bound = 0  # max(p_owner) + 1, refreshed at commit
        # ordinary users' outputs, kept up to date as outputs are created and spent instead of being found by
        # masks over the whole pool every round: a count of spendable outputs per user, and the users' pool
        # indexes sorted by (owner, index) in two parts (a large base merged rarely, a small recent part)
        self._ucount = np.zeros(0, np.int64)
        # owners of user outputs by the round they become spendable, not yet counted; owners of user outputs
        # spent since the counts were last brought up to date; the index parts [(owners, pool indexes)]
        self._upending: dict[int, list[np.ndarray]] = defaultdict(list)
        self._uspent: list[np.ndarray] = []
        self._uix = [(np.zeros(0, np.int64), np.zeros(0, np.int64)) for _ in range(2)]

    # -- the pool's columns (views of the first _n entries of the buffers) ---------------------------------
    p_owner = property(lambda self: self._cols[0][: self._n])
    p_addr = property(lambda self: self._cols[1][: self._n])
    p_value = property(lambda self: self._cols[2][: self._n])
    p_tx = property(lambda self: self._cols[3][: self._n])
    p_vout = property(lambda self: self._cols[4][: self._n])
    p_ready = property(lambda self: self._cols[5][: self._n])
    p_alive = property(lambda self: self._alive[: self._n])

    # -- scheduling ---------------------------------------------------------------------------------------
    def at(self, rnd: int, fn: Callable[[UtxoEngine, int], None]) -> None:
        """Run ``fn(engine, round)`` at the start of round ``rnd`` (at least the next round)."""
        self.schedule[max(rnd, self.round + 1)].append(fn)

    def block_time(self, block: np.ndarray | int) -> np.ndarray:
        b = np.asarray(block, dtype=np.int64)
        return T0 + b * BTC_BLOCK_S + (b * 7919 % 241) - 120 * (b > 0)

    def round_of_time(self, t: int) -> int:
        """The round in which second ``t`` (since T0) falls."""
        return int(t // (BTC_BLOCK_S * self.bpr))

    def round_after_time(self, t: int) -> int:
        """The first round whose every block is later than second ``t`` (since T0): a payment caused by an
        event at ``t`` (a bridge release after its lock) must not land in a block mined before it."""
        return int(-(-t // (BTC_BLOCK_S * self.bpr)))

    # -- building ------------------------------------------------------------------------------------------
    def build(
        self,
        in_idx: np.ndarray,
        in_group: np.ndarray,
        out_group: np.ndarray,
        out_addr: np.ndarray,
        out_value: np.ndarray,
        out_owner: np.ndarray,
        *,
        ready_delay: int = 1,
        coinbase_block: np.ndarray | None = None,
    ) -> np.ndarray:
        """Create one transaction per group 0..G-1 spending pool entries ``in_idx`` (grouped by ``in_group``)
        and paying ``out_*`` (grouped by ``out_group``). Returns the transaction ids."""
        out_group = np.asarray(out_group, dtype=np.int64)
        g = int(out_group.max()) + 1 if len(out_group) else 0
        if g == 0:
            return np.zeros(0, np.int64)
        ids = np.arange(self.n_tx, self.n_tx + g, dtype=np.int64)
        self.n_tx += g
        in_idx = np.asarray(in_idx, dtype=np.int64)
        in_group = np.asarray(in_group, dtype=np.int64)
        out_value = np.asarray(out_value, dtype=np.int64)
        # one transaction (most calls: every payment): inputs and outputs are already in order, no grouping
        one = g == 1 and not in_group.any()
        if coinbase_block is None:
            if len(in_idx) and not self.p_alive[in_idx].all():
                raise AssertionError("double spend in the simulator")
            if len(in_idx) > 1 and (np.diff(np.sort(in_idx)) == 0).any():
                raise AssertionError("an output spent twice in one round")
            if one:
                fee = np.array([int(self.p_value[in_idx].sum()) - int(out_value.sum())])
                funded = len(in_idx) > 0
            else:
                in_tot = np.bincount(in_group, weights=self.p_value[in_idx], minlength=g).astype(np.int64)
                out_tot = np.bincount(out_group, weights=out_value, minlength=g).astype(np.int64)
                fee = in_tot - out_tot
                funded = bool((np.bincount(in_group, minlength=g) > 0).all())
            if (fee < 0).any() or (out_value < 0).any():
                raise AssertionError("a transaction spends more than its inputs")
            if not funded:
                raise AssertionError("a non-coinbase transaction without inputs")
            block = self.round * self.bpr + 1 + self.rng.integers(0, self.bpr, g)
            if one:
                self.block_fees[block[0]] += fee[0]
                self.ins["vin"].append(np.arange(len(in_idx)))
            else:
                np.add.at(self.block_fees, block, fee)
                o = np.lexsort((np.arange(len(in_idx)), in_group))
                in_idx, in_group = in_idx[o], in_group[o]
                self.ins["vin"].append(_rank(in_group))
            self.tx_coinbase.append(np.zeros(g, bool))
            self.ins["tx"].append(ids[in_group])
            for k, src in (
                ("spent_tx", self.p_tx),
                ("spent_vout", self.p_vout),
                ("addr", self.p_addr),
                ("value", self.p_value),
            ):
                self.ins[k].append(src[in_idx])
            self.p_alive[in_idx] = False
            self._dead += len(in_idx)
            spent_owner = self.p_owner[in_idx]
            self._uspent.append(spent_owner[spent_owner < self.user_limit])
        else:
            block = np.asarray(coinbase_block, dtype=np.int64)
            self.tx_coinbase.append(np.ones(g, bool))
        self.tx_block.append(block.astype(np.int64))
        if one:
            vout = np.arange(len(out_group))
            otx = np.full(len(out_group), ids[0])
            oaddr, oval, oown = np.asarray(out_addr, np.int64), out_value, np.asarray(out_owner, np.int64)
        else:
            o = np.lexsort((np.arange(len(out_group)), out_group))
            og = out_group[o]
            vout = _rank(og)
            otx = ids[og]
            oaddr, oval, oown = (
                np.asarray(out_addr, np.int64)[o],
                out_value[o],
                np.asarray(out_owner, np.int64)[o],
            )
        for k, v in (("tx", otx), ("vout", vout), ("addr", oaddr), ("value", oval)):
            self.outs[k].append(v)
        ready = np.full(len(otx), self.round + ready_delay, dtype=np.int64)
        self._new.append((oown, oaddr, oval, otx, vout, ready))
        return ids

    def commit(self) -> None:
        """End of round: add this round's outputs (amortised O(new): the buffers grow by doubling), and drop
        spent entries once they are a quarter of the pool. Pool order is creation order throughout."""
        n = self._n
        compact = self._dead * 4 > n
        if compact:
            keep = self._alive[:n].copy()
            live = n - self._dead
            for c in self._cols:
                c[:live] = c[:n][keep]
            self._alive[:live] = True
            n, self._dead = live, 0
            self._compact_user_index(keep)
        new, self._new = self._new, []
        m = sum(len(p[0]) for p in new)
        if n + m > len(self._alive):
            cap = max(2 * (n + m), 4096)
            grown = [np.zeros(cap, np.int64) for _ in POOL_COLS]
            for g, c in zip(grown, self._cols, strict=True):
                g[:n] = c[:n]
            self._cols = grown
            alive = np.zeros(cap, bool)
            alive[:n] = self._alive[:n]
            self._alive = alive
        if m:
            for i, c in enumerate(self._cols):
                c[n : n + m] = np.concatenate([p[i] for p in new])
            self._alive[n : n + m] = True
        self._n = n + m
        # services own few outputs each but are asked for them thousands of times a round: keep their pool
        # indexes by owner instead of scanning the whole pool per question
        owners = self._cols[0]
        if compact:
            start, self._svc = 0, {}
        else:
            start = n
            self._svc = {o: ix[self._alive[ix]] for o, ix in self._svc.items()}
        svc = start + np.flatnonzero(owners[start : self._n] >= self.user_limit)
        if len(svc):
            by = np.argsort(owners[svc], kind="stable")
            so = owners[svc][by]
            cut = np.flatnonzero(np.diff(so)) + 1
            for o, ix in zip(so[np.r_[0, cut]].tolist(), np.split(svc[by], cut), strict=True):
                self._svc[o] = np.concatenate([self._svc[o], ix]) if o in self._svc else ix
        self._svc_from = {}
        self._owner_bound = max(self._owner_bound, int(owners[n : self._n].max(initial=0)) + 1)
        self._index_users(n)

    # -- ordinary users' outputs ---------------------------------------------------------------------------
    def _index_users(self, start: int) -> None:
        """Add the users' outputs among the new pool entries ``start:`` to the recent part of the owner index
        (merged into the base once it is large) and to the counts from the round they are spendable."""
        new = start + np.flatnonzero(self.p_owner[start:] < self.user_limit)
        if len(self._ucount) < self.user_limit:
            self._ucount = np.r_[self._ucount, np.zeros(self.user_limit - len(self._ucount), np.int64)]
        if len(new) == 0:
            return
        own = self.p_owner[new]
        by = np.argsort(own, kind="stable")
        own, new = own[by], new[by]
        ready = self.p_ready[new]
        for r in np.unique(ready).tolist():
            self._upending[r].append(own[ready == r])
        # new indexes are above every indexed one: after an owner's entries keeps (owner, index) order
        rec_own, rec_idx = self._uix[1]
        at = np.searchsorted(rec_own, own, "right")
        self._uix[1] = (np.insert(rec_own, at, own), np.insert(rec_idx, at, new))
        if len(self._uix[1][0]) * 8 > len(self._uix[0][0]) + 65536:
            self._merge_user_index()

    def _merge_user_index(self) -> None:
        (b_own, b_idx), (r_own, r_idx) = self._uix
        at = np.searchsorted(b_own, r_own, "right")
        empty = np.zeros(0, np.int64)
        self._uix = [(np.insert(b_own, at, r_own), np.insert(b_idx, at, r_idx)), (empty, empty)]

    def _compact_user_index(self, keep: np.ndarray) -> None:
        """The pool dropped its spent entries (``keep`` over the old indexes): renumber the owner index."""
        new_index = np.cumsum(keep) - 1
        for part, (own, idx) in enumerate(self._uix):
            live = keep[idx]
            self._uix[part] = (own[live], new_index[idx[live]])
        self._merge_user_index()

    def user_counts(self) -> np.ndarray:
        """Spendable outputs per ordinary user (index = owner id) in the current round; read-only."""
        for r in [r for r in self._upending if r <= self.round]:
            for own in self._upending.pop(r):
                np.add.at(self._ucount, own, 1)
        if self._uspent:
            spent = np.concatenate(self._uspent)
            self._uspent = []
            np.subtract.at(self._ucount, spent, 1)
            if len(spent) and (self._ucount[spent] < 0).any():
                raise AssertionError("a user output spent before it was spendable")
        view = self._ucount.view()
        view.flags.writeable = False
        return view

    def user_outputs(self, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Spendable outputs of the ordinary users ``owners``: (pool indexes, position of the owner in
        ``owners``), grouped in the order of ``owners`` and in pool order inside each group. Binary searches
        in the owner index, not a pass over the pool."""
        owners = np.asarray(owners, dtype=np.int64)
        if len(owners) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        idx_parts, grp_parts = [], []
        for own, idx in self._uix:
            lo = np.searchsorted(own, owners, "left")
            cnt = np.searchsorted(own, owners, "right") - lo
            total = int(cnt.sum())
            start = np.repeat(lo - np.r_[0, np.cumsum(cnt)[:-1]], cnt)
            idx_parts.append(idx[start + np.arange(total)])
            grp_parts.append(np.repeat(np.arange(len(owners)), cnt))
        idx, grp = np.concatenate(idx_parts), np.concatenate(grp_parts)
        by = np.argsort(grp, kind="stable")  # the base part's indexes are below the recent part's
        idx, grp = idx[by], grp[by]
        ok = self.p_alive[idx] & (self.p_ready[idx] <= self.round)
        return idx[ok], grp[ok]

    def ready_of(self, owners: np.ndarray | int, rnd: int | None = None) -> np.ndarray:
        """Pool indexes of spendable outputs owned by ``owners``."""
        rnd = self.round if rnd is None else rnd
        if np.ndim(owners) == 0 and int(owners) >= self.user_limit:
            # a service: look only at its own outputs; this round's outputs are not ready anyway
            sub = self._svc.get(int(owners), np.zeros(0, np.int64))
            return sub[self.p_alive[sub] & (self.p_ready[sub] <= rnd)]
        want = np.zeros(max(self._owner_bound, int(np.max(owners)) + 1), bool)
        want[np.atleast_1d(owners)] = True
        return np.flatnonzero(want[self.p_owner] & self.p_alive & (self.p_ready <= rnd))

    def ready_groups(self, owners: np.ndarray) -> list[np.ndarray]:
        """``[ready_of(o) for o in owners]`` from the owner index (ordinary users only)."""
        owners = np.asarray(owners, dtype=np.int64)
        if len(owners) == 0:
            return []
        idx, grp = self.user_outputs(owners)
        return np.split(idx, np.cumsum(np.bincount(grp, minlength=len(owners)))[:-1])

    def find(self, tx: int, vout: int) -> int:
        """Pool index of output ``tx:vout``. The pool is in creation order, hence sorted by transaction id:
        a binary search, not a scan."""
        lo, hi = np.searchsorted(self.p_tx, [tx, tx + 1])
        hit = lo + np.flatnonzero((self.p_vout[lo:hi] == vout) & self.p_alive[lo:hi])
        if len(hit) != 1:
            raise AssertionError(f"output {tx}:{vout} not spendable")
        return int(hit[0])

    def pay(
        self,
        owner: int,
        outputs: list[tuple[int, int, int]],
        *,
        inputs: np.ndarray | None = None,
        change_addr: int | None = None,
        feerate: int = 8,
        min_fee: int = 0,
        from_addrs: np.ndarray | list[int] | None = None,
    ) -> tuple[int, list[tuple[int, int]], int] | None:
        """One transaction from ``owner``: outputs [(addr, value, owner)], inputs given or chosen largest-first
        to cover, change (if above dust) to ``change_addr``. Returns (tx id, [(tx, vout)] of the outputs in the
        given order, fee) or None when the owner cannot pay."""
        need = sum(v for _, v, _ in outputs)
        if inputs is None:
            if from_addrs is None:
                cand = self.ready_of(owner)
            elif owner >= self.user_limit:
                # a service paying from some of its addresses (the bridge: not from its deposit address)
                key = (int(owner), tuple(sorted(int(a) for a in from_addrs)))
                if key not in self._svc_from:
                    sub = self._svc.get(int(owner), np.zeros(0, np.int64))
                    self._svc_from[key] = sub[np.isin(self.p_addr[sub], from_addrs)]
                sub = self._svc_from[key]
                cand = sub[self.p_alive[sub] & (self.p_ready[sub] <= self.round)]
            else:
                cand = self.ready_of(owner)
                cand = cand[np.isin(self.p_addr[cand], from_addrs)]
            inputs = self._largest_first(cand, need + vsize(1, len(outputs) + 1) * feerate)
            if inputs is None:
                return None
        total = int(self.p_value[inputs].sum())
        fee = max(vsize(len(inputs), len(outputs) + 1) * feerate, min_fee)
        change = total - need - fee
        outs = list(outputs)
        if change >= DUST and change_addr is not None:
            outs.append((change_addr, change, owner))
        elif change < 0:
            return None
        else:
            fee = total - need
        tx = self.build(
            inputs,
            np.zeros(len(inputs), np.int64),
            np.zeros(len(outs), np.int64),
            np.array([o[0] for o in outs]),
            np.array([o[1] for o in outs]),
            np.array([o[2] for o in outs]),
        )
        tid = int(tx[0])
        return tid, [(tid, j) for j in range(len(outputs))], total - sum(o[1] for o in outs)

    def _largest_first(self, cand: np.ndarray, target: int) -> np.ndarray | None:
        """The fewest of ``cand`` (in pool order), largest first and in pool order among equal values, whose
        values add up to ``target``; None if all of them do not. A hot wallet holds tens of thousands of
        outputs and a payment takes a few: the largest 64 (and any equal to the 64th) are sorted first, and
        the whole set only when they are not enough."""
        vals = self.p_value[cand]
        if len(vals) > 4096:
            kth = np.partition(vals, len(vals) - 64)[len(vals) - 64]
            top = np.flatnonzero(vals >= kth)  # exactly the first len(top) of the full order below
            top = top[np.lexsort((top, -vals[top]))]
            csum = np.cumsum(vals[top])
            if csum[-1] >= target:
                return cand[top[: int(np.searchsorted(csum, target)) + 1]]
        order = np.argsort(-vals, kind="stable")
        csum = np.cumsum(vals[order])
        k = int(np.searchsorted(csum, target)) + 1
        return None if k > len(cand) else cand[order[:k]]

    def coinbase(self, miners: np.ndarray) -> None:
        """Coinbase of every block in the current round: subsidy + the block's fees to its miner."""
        blocks = self.round * self.bpr + 1 + np.arange(self.bpr)
        who = miners[(blocks * 2654435761) % len(miners)]
        owners = self.miner_owner_of_addr(who)
        value = SUBSIDY + self.block_fees[blocks]
        self.build(
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            np.arange(self.bpr),
            who,
            value,
            owners,
            ready_delay=COINBASE_MATURITY_BLOCKS // self.bpr + 1,
            coinbase_block=blocks,
        )

    miner_owner_of_addr: Callable[[np.ndarray], np.ndarray]

    def run_round(self, rnd: int, background: Callable[[UtxoEngine, int], None], miners: np.ndarray) -> None:
        self.round = rnd
        for fn in self.schedule.pop(rnd, []):
            fn(self, rnd)
        background(self, rnd)
        self.coinbase(miners)
        self.commit()

    def finalize(self) -> FinalUtxo:
        return FinalUtxo.build(self)


def _rank(groups: np.ndarray) -> np.ndarray:
    """Position of each element inside its run of equal (sorted) group values."""
    n = len(groups)
    if n == 0 or groups[0] == groups[-1]:
        return np.arange(n, dtype=np.int64)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(groups)) + 1))
    return np.arange(n) - np.repeat(starts, np.diff(np.concatenate((starts, [n]))))


def _c(d: dict[str, list[np.ndarray]], k: str) -> np.ndarray:
    return np.concatenate(d[k]) if d[k] else np.zeros(0, np.int64)


@dataclass
class FinalUtxo:
    """Transactions in block order with their hashes, ready to write."""

    eng: UtxoEngine
    order: np.ndarray  # sorted position -> tx id
    pos: np.ndarray  # tx id -> sorted position
    block: np.ndarray  # per sorted tx
    index: np.ndarray  # per sorted tx: position in block
    coinbase: np.ndarray  # per sorted tx
    hashes: pa.StringArray  # per tx id (hash does not depend on order)

    @classmethod
    def build(cls, eng: UtxoEngine) -> FinalUtxo:
        block = np.concatenate(eng.tx_block)
        cb = np.concatenate(eng.tx_coinbase)
        n = len(block)
        # coinbase first in its block, then by id (a block's transactions never spend each other)
        order = np.lexsort((np.arange(n), ~cb, block))
        pos = np.empty(n, np.int64)
        pos[order] = np.arange(n)
        sb = block[order]
        index = _rank(sb)
        hashes = fixed_width_strings(hex_matrix(keyed_bytes(eng.seed, 21, np.arange(n))))
        return cls(eng, order, pos, sb, index, cb[order], hashes)

    def tx_hash(self, tx: int) -> str:
        return self.hashes[int(tx)].as_py()

    def tx_time(self, tx: int) -> int:
        return int(self.eng.block_time(self.block[self.pos[tx]]))

    def write(self, folder: Path) -> dict[str, int]:
        folder.mkdir(parents=True, exist_ok=True)
        eng = self.eng
        addr = eng.book.strings()
        types = eng.book.types
        hashhex = fixed_width_strings(eng.book.hex40())
        o_tx, o_vout, o_addr, o_val = (_c(eng.outs, k) for k in ("tx", "vout", "addr", "value"))
        i_tx, i_vin, i_stx, i_svout, i_addr, i_val = (
            _c(eng.ins, k) for k in ("tx", "vin", "spent_tx", "spent_vout", "addr", "value")
        )
        # outputs and inputs in (sorted tx position, index) order
        oo = np.lexsort((o_vout, self.pos[o_tx]))
        io = np.lexsort((i_vin, self.pos[i_tx])) if len(i_tx) else np.zeros(0, np.int64)
        o_tx, o_vout, o_addr, o_val = o_tx[oo], o_vout[oo], o_addr[oo], o_val[oo]
        i_tx, i_vin, i_stx, i_svout, i_addr, i_val = (
            a[io] for a in (i_tx, i_vin, i_stx, i_svout, i_addr, i_val)
        )
        n = len(self.order)
        o_cnt = np.bincount(self.pos[o_tx], minlength=n)
        i_cnt = np.bincount(self.pos[i_tx], minlength=n) if len(i_tx) else np.zeros(n, np.int64)
        o_off = np.r_[0, np.cumsum(o_cnt)]
        i_off = np.r_[0, np.cumsum(i_cnt)]
        o_sum = np.bincount(self.pos[o_tx], weights=o_val, minlength=n).astype(np.int64)
        i_sum = (
            np.bincount(self.pos[i_tx], weights=i_val, minlength=n).astype(np.int64)
            if len(i_tx)
            else np.zeros(n, np.int64)
        )
        blocks = np.arange(0, int(self.block.max()) + 1)
        bhash = fixed_width_strings(hex_matrix(_btc_block_hash(eng.seed, blocks)))

        def out_frag(lo: int, hi: int) -> pa.Array:
            """One JSON object per output; each script type is assembled on its own rows, so its script
            templates and type name are literals rather than per-row columns."""
            a = o_addr[lo:hi]

            def frag(code: int, rows: np.ndarray) -> pa.Array:
                asm_pre, asm_post, hex_pre, hex_post = BTC_SCRIPTS[code]
                h = pc.take(hashhex, pa.array(a[rows]))
                return join_lines(
                    [
                        '{"index": ',
                        s(o_vout[lo:hi][rows]),
                        f', "script_asm": "{asm_pre}',
                        h,
                        f'{asm_post}", "script_hex": "{hex_pre}',
                        h,
                        f'{hex_post}", "required_signatures": 1, "type": "{BTC_TYPES[code]}", "addresses": ["',
                        pc.take(addr, pa.array(a[rows])),
                        '"], "value": ',
                        s(o_val[lo:hi][rows]),
                        "}",
                    ],
                    len(rows),
                )

            return by_kind(types[a], {c: functools.partial(frag, c) for c in range(len(BTC_TYPES))})

        def in_frag(lo: int, hi: int) -> pa.Array:
            """One JSON object per input. Witness inputs have empty scripts; legacy ones carry a signature
            and public key (keyed bytes of the input's position), wrapped P2SH-P2WPKH ones a redeem script."""
            a = i_addr[lo:hi]

            def frag(code: int, rows: np.ndarray) -> pa.Array:
                if code == 1:
                    k = keyed_bytes(eng.seed, 22, lo + rows, 104)
                    sig = fixed_width_strings(hex_matrix(k[:, :71]))
                    pub = hex_matrix(k[:, 71:104])
                    pub[:, :2] = np.frombuffer(b"02", np.uint8)
                    pub_s = fixed_width_strings(pub)
                    script = [', "script_asm": "', sig, "[ALL] ", pub_s, '", "script_hex": "47', sig]
                    script += ["0121", pub_s]
                elif code == 2:
                    h = pc.take(hashhex, pa.array(a[rows]))
                    script = [', "script_asm": "0014', h, '", "script_hex": "160014', h]
                else:
                    script = [', "script_asm": "", "script_hex": "']
                return join_lines(
                    [
                        '{"index": ',
                        s(i_vin[lo:hi][rows]),
                        ', "spent_transaction_hash": "',
                        pc.take(self.hashes, pa.array(i_stx[lo:hi][rows])),
                        '", "spent_output_index": ',
                        s(i_svout[lo:hi][rows]),
                        *script,
                        f'", "sequence": 4294967294, "required_signatures": 1, "type": "{BTC_TYPES[code]}", '
                        '"addresses": ["',
                        pc.take(addr, pa.array(a[rows])),
                        '"], "value": ',
                        s(i_val[lo:hi][rows]),
                        "}",
                    ],
                    len(rows),
                )

            return by_kind(types[a], {c: functools.partial(frag, c) for c in range(len(BTC_TYPES))})

        def tx_lines(lo: int, hi: int) -> pa.Array:
            sl = slice(lo, hi)
            ids = self.order[sl]
            m = hi - lo
            ins = group_join(in_frag(int(i_off[lo]), int(i_off[hi])), i_off[lo : hi + 1] - i_off[lo], ", ")
            outs = group_join(out_frag(int(o_off[lo]), int(o_off[hi])), o_off[lo : hi + 1] - o_off[lo], ", ")
            size = vsize(i_cnt[sl], o_cnt[sl]) + 30 * i_cnt[sl]
            vs = vsize(i_cnt[sl], o_cnt[sl])
            cb = self.coinbase[sl]
            fee = np.where(cb, 0, i_sum[sl] - o_sum[sl])
            return join_lines(
                [
                    '{"hash": "',
                    pc.take(self.hashes, pa.array(ids)),
                    '", "size": ',
                    s(size),
                    ', "virtual_size": ',
                    s(vs),
                    ', "version": 2, "lock_time": 0, "block_number": ',
                    s(self.block[sl]),
                    ', "block_hash": "',
                    pc.take(bhash, pa.array(self.block[sl])),
                    '", "block_timestamp": ',
                    s(eng.block_time(self.block[sl])),
                    ', "is_coinbase": ',
                    pc.if_else(pa.array(cb), "true", "false"),
                    ', "index": ',
                    s(self.index[sl]),
                    ', "inputs": [',
                    ins,
                    '], "outputs": [',
                    outs,
                    '], "input_count": ',
                    s(i_cnt[sl]),
                    ', "output_count": ',
                    s(o_cnt[sl]),
                    ', "input_value": ',
                    s(i_sum[sl]),
                    ', "output_value": ',
                    s(o_sum[sl]),
                    ', "fee": ',
                    s(fee),
                    "}\n",
                ],
                m,
            )

        write_lines(folder / "transactions.json", n, tx_lines)
        tx_count = np.bincount(self.block, minlength=len(blocks))

        def block_lines(lo: int, hi: int) -> pa.Array:
            b = blocks[lo:hi]
            m = hi - lo
            mr = fixed_width_strings(hex_matrix(keyed_bytes(eng.seed, 23, b)))
            nonce = fixed_width_strings(hex_matrix(keyed_bytes(eng.seed, 24, b, 4)))
            cbp = fixed_width_strings(hex_matrix(keyed_bytes(eng.seed, 25, b, 12)))
            size = 80 + 300 * tx_count[lo:hi]
            return join_lines(
                [
                    '{"hash": "',
                    pc.take(bhash, pa.array(b)),
                    '", "size": ',
                    s(size),
                    ', "stripped_size": ',
                    s(size),
                    ', "weight": ',
                    s(size * 4),
                    ', "number": ',
                    s(b),
                    ', "version": 536870912, "merkle_root": "',
                    mr,
                    '", "timestamp": ',
                    s(eng.block_time(b)),
                    ', "nonce": "',
                    nonce,
                    '", "bits": "17034219", "coinbase_param": "',
                    cbp,
                    '", "transaction_count": ',
                    s(tx_count[lo:hi]),
                    "}\n",
                ],
                m,
            )

        write_lines(folder / "blocks.json", len(blocks), block_lines)
        return {"blocks": len(blocks), "transactions": n, "outputs": len(o_tx), "inputs": len(i_tx)}


def _btc_block_hash(seed: int, blocks: np.ndarray) -> np.ndarray:
    """Block hashes with the leading zero bytes proof-of-work leaves."""
    raw = keyed_bytes(seed, 26, blocks)
    raw[:, :8] = 0
    raw[:, 8] &= 0x0F
    return raw


__all__ = ["UtxoEngine", "FinalUtxo", "vsize"]
