"""The taint sweep: poison, haircut and FIFO over a time-ordered flow graph, forward and backward.

The graph is a set of *nodes* (one balance each: an (address, asset) pair on account chains, a transaction on
UTXO chains) and *edges* (value movements) with an order key at each end. A node's history is its events in
key order; its balance before each event is known from the amounts alone, so everything that does not depend
on taint (balances, haircut multipliers, FIFO tape positions) is computed once, vectorised, and each sweep
iteration only re-evaluates the taint-dependent parts.

Models (Möser, Böhme & Breuker 2014, "Towards Risk Scoring of Bitcoin Transactions", FC workshops; Anderson
et al. 2019, "Bitcoin Redux", WEIS, for FIFO as in Clayton's Case, Devaynes v Noble 1816):

* **poison**: once a node has received taint, every later outflow is fully tainted (taint is not conserved;
  it is the upper bound an investigator can defend).
* **haircut**: every outflow carries the node's tainted share of its balance at that moment
  (taint conserved; clean money mixed in dilutes it).
* **fifo**: the balance is a queue of lots; an outflow takes the oldest lots first (taint conserved).

Temporal correctness is structural: an outflow only sees events with a smaller key at its node, and a node's
balance before its window (``b0``) is clean. Where the data has a gap (a node spends more than it is known to
hold, as in case files that list only the laundering transfers), ``gaps='proportional'`` assumes the missing
funds look like the known balance, ``gaps='clean'`` that they are clean.

Hops: iteration *h* computes the taint that arrives over paths of at most *h* edges, from the previous
iteration's edge taints (a Jacobi iteration of the linear sweep). It converges exactly, after as many
iterations as the longest tainted path, to the single time-ordered pass; stopping at ``max_hops`` gives the
hop-bounded trace, which is monotone in ``max_hops``. Backward traces run the adjoint of the same operators:
"which part of each inflow ended up in the demanded outflows".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MODELS = ("poison", "haircut", "fifo")
DIRECTIONS = ("forward", "backward")
GAPS = ("proportional", "clean")

#: Edge roles around a swap group (a DEX trade inside one transaction).
ROLE_NONE, ROLE_INTO_SERVICE, ROLE_FROM_SERVICE = 0, 1, 2


@dataclass
class FlowGraph:
    """Numpy form of a traced subgraph. Node indices are dense; -1 means "not a tracked node"."""

    n_nodes: int
    src: np.ndarray  # int64 per edge: sending node or -1
    dst: np.ndarray  # int64 per edge: receiving node or -1
    amount: np.ndarray  # float64 per edge, > 0 (base units; exact integers are kept by the caller)
    out_key: np.ndarray  # int64 per edge: order of the event at the sender
    in_key: np.ndarray  # int64 per edge: order of the event at the receiver
    b0: np.ndarray  # float64 per node: balance held before the node's window (clean)
    source: np.ndarray  # bool per node: fully tainted (forward) / fully demanded (backward)
    seed: np.ndarray | None = None  # float64 per edge: fixed taint (demand) fraction, e.g. a bridge release
    group: np.ndarray | None = None  # int64 per edge: swap group or -1
    role: np.ndarray | None = None  # int8 per edge: ROLE_* within its group
    weight: np.ndarray | None = None  # float64 per edge: USD per base unit (NaN: unknown) for swap valuation
    min_taint: np.ndarray | None = None  # float64 per edge: taint below this is dropped (base units)


@dataclass
class SweepResult:
    taint: np.ndarray  # float64 per edge: tainted amount (forward) or demanded amount (backward)
    hop: np.ndarray  # int64 per edge: first iteration that tainted it, -1 never
    dropped: np.ndarray  # float64 per edge: taint dropped by the threshold
    iterations: int
    converged: bool
    node_in: np.ndarray = field(default_factory=lambda: np.zeros(0))  # taint received per node
    node_out: np.ndarray = field(default_factory=lambda: np.zeros(0))  # taint sent per node


# ---------------------------------------------------------------------------------------------- helpers
def _seg_cumsum(values: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """Inclusive cumulative sum restarting at each segment (segments contiguous). Exact per segment: no
    cancellation between segments, which a global cumsum minus offsets would suffer for 1e27-wei amounts."""
    if values.size == 0:
        return values.astype(np.float64)
    return pd.Series(values).groupby(seg, sort=False).cumsum().to_numpy()


def _seg_cummax(values: np.ndarray, seg: np.ndarray) -> np.ndarray:
    if values.size == 0:
        return values.astype(np.float64)
    return pd.Series(values).groupby(seg, sort=False).cummax().to_numpy()


def _shift(values: np.ndarray, start: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """values[k-1] within the segment, ``fill`` at segment starts."""
    out = np.empty_like(values)
    if values.size:
        out[1:] = values[:-1]
        out[start] = fill
    return out


def linear_scan(m: np.ndarray, i: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Solve x_k = m_k x_{k-1} + i_k for every k, with x = 0 before each segment start (``start`` True).

    Vectorised as x_k = P_k * sum_{j<=k} i_j / P_j with P the running product of m inside blocks that restart
    wherever m = 0 (a full spend: nothing carries over). Blocks whose product would underflow are cut into
    chunks joined by an explicit carry, so the result is exact to floating-point rounding.
    """
    n = m.size
    if n == 0:
        return np.zeros(0)
    m = np.asarray(m, dtype=np.float64)
    i = np.asarray(i, dtype=np.float64)
    reset = start | (m <= 0.0)
    with np.errstate(divide="ignore"):
        lm = np.where(reset, 0.0, np.log(np.where(m > 0, m, 1.0)))
    blk = np.cumsum(reset) - 1
    L = _seg_cumsum(lm, blk)
    if L.min() >= -600.0:
        e = np.exp(-L)
        return np.exp(L) * _seg_cumsum(i * e, blk)
    # Chunk long decaying blocks every 250 nats and chain the chunks with a carry.
    chunk = np.floor(-L / 250.0).astype(np.int64)
    prev_chunk = _shift(chunk.astype(np.float64), reset, -1.0).astype(np.int64)
    carry_start = (~reset) & (chunk != prev_chunk)
    sub_start = reset | carry_start
    sub = np.cumsum(sub_start) - 1
    lm2 = np.where(sub_start, 0.0, lm)
    L2 = _seg_cumsum(lm2, sub)
    x = np.exp(L2) * _seg_cumsum(i * np.exp(-L2), sub)
    # carry: x_k += carry_in(sub) * m[first of sub] * exp(L2_k), where carry_in = final x of the previous sub
    first = np.nonzero(sub_start)[0]
    is_carry = carry_start[first]
    last = np.r_[first[1:] - 1, n - 1]
    rank = np.zeros(first.size, dtype=np.int64)
    # rank of a carry sub-block = number of consecutive carry sub-blocks before it (+1)
    run = np.cumsum(~is_carry)
    run_first = np.nonzero(~is_carry)[0]
    rank[is_carry] = np.arange(first.size)[is_carry] - run_first[run[is_carry] - 1]
    for r in range(1, int(rank.max()) + 1):
        b = np.nonzero(rank == r)[0]
        carry = x[last[b - 1]] * m[first[b]]
        lengths = last[b] - first[b] + 1
        idx = np.repeat(first[b], lengths) + (np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths,
                                                                                    lengths))
        x[idx] += np.repeat(carry, lengths) * np.exp(L2[idx])
    return x


def _last_before(q_node: np.ndarray, q_pos: np.ndarray, s_node: np.ndarray, s_pos: np.ndarray) -> np.ndarray:
    """For each query (node, pos): index into the (node, pos)-sorted intervals of the last one starting
    strictly before pos in the same node, or -1."""
    nq = q_node.size
    if nq == 0:
        return np.zeros(0, dtype=np.int64)
    node = np.concatenate([q_node, s_node])
    pos = np.concatenate([q_pos, s_pos])
    typ = np.concatenate([np.zeros(nq, np.int8), np.ones(s_node.size, np.int8)])  # queries first at ties
    order = np.lexsort((typ, pos, node))
    is_s = typ[order] == 1
    cnt = np.cumsum(is_s) - 1  # index of last interval at or before this merged position
    res = np.empty(nq, dtype=np.int64)
    qsel = ~is_s
    res[order[qsel]] = cnt[qsel]
    ok = res >= 0
    ok[ok] &= s_node[res[ok]] == q_node[ok]
    res[~ok] = -1
    return res


# ---------------------------------------------------------------------------------------------- events
class _Events:
    """Per-node event histories, balances and taint-independent model quantities."""

    def __init__(self, g: FlowGraph, gaps: str):
        self.g = g
        in_e = np.nonzero(g.dst >= 0)[0]
        out_e = np.nonzero(g.src >= 0)[0]
        node = np.concatenate([g.dst[in_e], g.src[out_e]])
        key = np.concatenate([g.in_key[in_e], g.out_key[out_e]])
        is_out = np.concatenate([np.zeros(in_e.size, bool), np.ones(out_e.size, bool)])
        edge = np.concatenate([in_e, out_e])
        order = np.lexsort((is_out, key, node))
        self.node, self.key, self.is_out, self.edge = node[order], key[order], is_out[order], edge[order]
        n = self.node.size
        self.start = np.ones(n, bool)
        if n:
            self.start[1:] = self.node[1:] != self.node[:-1]
        self.seg = np.cumsum(self.start) - 1
        a = g.amount[self.edge]
        self.a = a
        delta = np.where(self.is_out, -a, a)
        b0 = np.maximum(g.b0, 0.0)
        raw_after = b0[self.node] + _seg_cumsum(delta, self.seg) if n else np.zeros(0)
        S = _seg_cummax(np.maximum(0.0, -raw_after), self.seg) if n else np.zeros(0)
        S_prev = _shift(S, self.start)
        self.deficit = np.maximum(S - S_prev, 0.0)
        self.Bn = np.maximum(raw_after - delta + S_prev, 0.0)  # balance before, without injection at k
        self.Ba = self.Bn + self.deficit
        self.gaps = gaps
        den = self.Bn if gaps == "proportional" else self.Ba
        self.den = den
        with np.errstate(divide="ignore", invalid="ignore"):
            m = np.where(self.is_out, np.where(den > 0, np.maximum(self.Ba - a, 0.0) / den, 0.0), 1.0)
        self.m = np.minimum(m, 1.0)
        self.out_idx = np.nonzero(self.is_out)[0]
        self.in_idx = np.nonzero(~self.is_out)[0]
        self._fifo_ready = False

    # FIFO tape: lots (b0, inflows, gap lots) and consumption intervals (outflows), per node
    def _fifo(self) -> None:
        if self._fifo_ready:
            return
        g = self.g
        b0 = np.maximum(g.b0, 0.0)
        nodes_b0 = np.nonzero(b0 > 0)[0]
        gap_ev = np.nonzero(self.deficit > 0)[0]
        lot_node = np.concatenate([nodes_b0, self.node[self.in_idx], self.node[gap_ev]])
        # order inside a node: b0 lot first, then events in order (gap lot at its out-event)
        lot_rank = np.concatenate([np.full(nodes_b0.size, -1), self.in_idx, gap_ev]).astype(np.int64)
        lot_len = np.concatenate([b0[nodes_b0], self.a[self.in_idx], self.deficit[gap_ev]])
        lot_kind = np.concatenate([np.zeros(nodes_b0.size, np.int8), np.ones(self.in_idx.size, np.int8),
                                   np.full(gap_ev.size, 2, np.int8)])
        lot_ev = np.concatenate([np.full(nodes_b0.size, -1), self.in_idx, gap_ev]).astype(np.int64)
        order = np.lexsort((lot_rank, lot_node))
        self.lot_node, self.lot_len = lot_node[order], lot_len[order]
        self.lot_kind, self.lot_ev = lot_kind[order], lot_ev[order]
        ls = np.ones(self.lot_node.size, bool)
        if ls.size:
            ls[1:] = self.lot_node[1:] != self.lot_node[:-1]
        self.lot_segstart = ls
        self.lot_seg = np.cumsum(ls) - 1
        self.lot_start = _seg_cumsum(self.lot_len, self.lot_seg) - self.lot_len
        # previous non-gap lot (for gaps='proportional': a gap lot looks like the inflow before it)
        idx = np.arange(self.lot_node.size)
        real = np.where(self.lot_kind != 2, idx, -1)
        prev_real = np.maximum.accumulate(real) if real.size else real
        self.gap_src = np.where((prev_real >= 0) & (self.lot_node[np.maximum(prev_real, 0)] == self.lot_node),
                                prev_real, -1)
        # outflows: consumption intervals [c0, c1) on the node's tape
        o = self.out_idx
        self.out_node = self.node[o]
        oseg_start = np.ones(o.size, bool)
        if o.size:
            oseg_start[1:] = self.out_node[1:] != self.out_node[:-1]
        self.out_seg = np.cumsum(oseg_start) - 1
        self.out_c1 = _seg_cumsum(self.a[o], self.out_seg)
        self.out_c0 = self.out_c1 - self.a[o]
        # lookups (taint-independent)
        self.q1 = _last_before(self.out_node, self.out_c1, self.lot_node, self.lot_start)
        self.q0 = _last_before(self.out_node, self.out_c0, self.lot_node, self.lot_start)
        lot_end = self.lot_start + self.lot_len
        self.r0 = _last_before(self.lot_node, self.lot_start, self.out_node, self.out_c0)
        self.r1 = _last_before(self.lot_node, lot_end, self.out_node, self.out_c0)
        self.lot_end = lot_end
        self._fifo_ready = True

    # ---- forward: fraction of each edge's amount that is tainted, at its sender
    def forward(self, model: str, taint_in: np.ndarray) -> np.ndarray:
        """Per edge (indexed like the graph): tainted fraction of the outflow given inflow taints."""
        g = self.g
        F = np.zeros(g.amount.size)
        i_ev = np.where(self.is_out, 0.0, taint_in[self.edge])
        if model == "poison":
            tainted_in = ~self.is_out & (i_ev > 0)
            first = np.full(g.n_nodes, np.iinfo(np.int64).max)
            np.minimum.at(first, self.node[tainted_in], self.key[tainted_in])
            o = self.out_idx
            F[self.edge[o]] = (self.key[o] >= first[self.node[o]]).astype(np.float64)
        elif model == "haircut":
            T_after = linear_scan(self.m, i_ev, self.start)
            T_before = _shift(T_after, self.start)
            o = self.out_idx
            with np.errstate(divide="ignore", invalid="ignore"):
                f = np.where(self.den[o] > 0, T_before[o] / self.den[o], 0.0)
            F[self.edge[o]] = np.clip(f, 0.0, 1.0)
        elif model == "fifo":
            self._fifo()
            frac = np.zeros(self.lot_node.size)
            inl = self.lot_kind == 1
            ev = self.lot_ev[inl]
            frac[inl] = np.clip(taint_in[self.edge[ev]] / self.a[ev], 0.0, 1.0)
            if self.gaps == "proportional":
                gap = (self.lot_kind == 2) & (self.gap_src >= 0)
                frac[gap] = frac[self.gap_src[gap]]
            ct_excl = _seg_cumsum(frac * self.lot_len, self.lot_seg) - frac * self.lot_len

            def CT(q: np.ndarray, x: np.ndarray) -> np.ndarray:
                qq = np.maximum(q, 0)
                v = ct_excl[qq] + np.clip(x - self.lot_start[qq], 0.0, self.lot_len[qq]) * frac[qq]
                return np.where(q >= 0, v, 0.0)

            t = CT(self.q1, self.out_c1) - CT(self.q0, self.out_c0)
            o = self.out_idx
            F[self.edge[o]] = np.clip(t / self.a[o], 0.0, 1.0)
        else:
            raise ValueError(f"unknown model {model!r}")
        return F

    # ---- backward: demanded fraction of each inflow, at its receiver
    def backward(self, model: str, demand_out: np.ndarray) -> np.ndarray:
        g = self.g
        D = np.zeros(g.amount.size)
        d_ev = np.where(self.is_out, demand_out[self.edge], 0.0)
        ii = self.in_idx
        if model == "poison":
            demanded = self.is_out & (d_ev > 0)
            last = np.full(g.n_nodes, np.iinfo(np.int64).min)
            np.maximum.at(last, self.node[demanded], self.key[demanded])
            D[self.edge[ii]] = (self.key[ii] <= last[self.node[ii]]).astype(np.float64)
        elif model == "haircut":
            with np.errstate(divide="ignore", invalid="ignore"):
                inc = np.where(self.is_out & (self.den > 0), d_ev / self.den, 0.0)
            # reverse scan: V_k = m_k V_{k+1} + inc_k, segments restart at each node's last event
            rev = slice(None, None, -1)
            end = np.ones(self.node.size, bool)
            if end.size:
                end[:-1] = self.node[:-1] != self.node[1:]
            V = linear_scan(self.m[rev], inc[rev], end[rev])[rev]
            D[self.edge[ii]] = np.clip(V[ii], 0.0, 1.0)
        elif model == "fifo":
            self._fifo()
            o = self.out_idx
            dens = np.clip(d_ev[o] / self.a[o], 0.0, 1.0)
            cd_excl = _seg_cumsum(dens * self.a[o], self.out_seg) - dens * self.a[o]

            def CD(r: np.ndarray, x: np.ndarray) -> np.ndarray:
                rr = np.maximum(r, 0)
                v = cd_excl[rr] + np.clip(x - self.out_c0[rr], 0.0, self.a[o][rr]) * dens[rr]
                return np.where(r >= 0, v, 0.0)

            lot_d = CD(self.r1, self.lot_end) - CD(self.r0, self.lot_start)
            inl = self.lot_kind == 1
            ev = self.lot_ev[inl]
            D[self.edge[ev]] = np.clip(lot_d[inl] / self.a[ev], 0.0, 1.0)
        else:
            raise ValueError(f"unknown model {model!r}")
        return D


def _group_fraction(g: FlowGraph, frac: np.ndarray, take: int, give: int) -> None:
    """Carry taint through swap groups: edges with role ``give`` get the USD-weighted fraction of the
    edges with role ``take`` in the same group (in place)."""
    if g.group is None or g.role is None:
        return
    sel_take = (g.role == take) & (g.group >= 0)
    sel_give = (g.role == give) & (g.group >= 0)
    if not sel_give.any():
        return
    w = g.amount * (np.nan_to_num(g.weight, nan=0.0) if g.weight is not None else 0.0)
    ng = int(g.group.max()) + 1
    val = np.zeros(ng)
    tot = np.zeros(ng)
    # USD-weighted where prices are known, else amount-weighted (one asset on that side)
    wt = np.where(w > 0, w, g.amount)
    np.add.at(val, g.group[sel_take], frac[sel_take] * wt[sel_take])
    np.add.at(tot, g.group[sel_take], wt[sel_take])
    with np.errstate(divide="ignore", invalid="ignore"):
        fg = np.where(tot > 0, val / tot, 0.0)
    frac[sel_give] = np.clip(fg[g.group[sel_give]], 0.0, 1.0)


def sweep(g: FlowGraph, model: str = "haircut", direction: str = "forward", max_hops: int = 100,
          gaps: str = "proportional") -> SweepResult:
    """Propagate taint (forward) or demand (backward) through ``g`` for up to ``max_hops`` hops."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}: {', '.join(MODELS)}")
    if direction not in DIRECTIONS:
        raise ValueError(f"unknown direction {direction!r}: forward or backward")
    if gaps not in GAPS:
        raise ValueError(f"unknown gaps policy {gaps!r}: {', '.join(GAPS)}")
    E = g.amount.size
    ev = _Events(g, gaps)
    cur = np.zeros(E)
    hop = np.full(E, -1, dtype=np.int64)
    dropped = np.zeros(E)
    seed = g.seed if g.seed is not None else np.zeros(E)
    if direction == "forward":
        side = g.src
        take, give = ROLE_INTO_SERVICE, ROLE_FROM_SERVICE
        consumed = (g.role == ROLE_INTO_SERVICE) if g.role is not None else np.zeros(E, bool)
    else:
        side = g.dst
        take, give = ROLE_FROM_SERVICE, ROLE_INTO_SERVICE
        consumed = (g.role == ROLE_FROM_SERVICE) if g.role is not None else np.zeros(E, bool)
    from_source = np.zeros(E, bool)
    ok = side >= 0
    from_source[ok] = g.source[side[ok]]
    seeded = seed > 0
    hop[seeded] = 0
    converged = False
    it = 0
    for it in range(1, max_hops + 1):
        visible = np.where(consumed, 0.0, cur)  # taint handed to a swap does not enter the pool's balance
        frac = ev.forward(model, visible) if direction == "forward" else ev.backward(model, visible)
        frac[from_source] = 1.0
        _group_fraction(g, frac, take, give)
        frac = np.maximum(frac, seed)
        new = frac * g.amount
        drop = np.zeros(E)
        if g.min_taint is not None:
            low = (new > 0) & (new < g.min_taint)
            drop[low] = new[low]
            new[low] = 0.0
        hop[(new > 0) & (hop < 0)] = it
        if np.array_equal(new, cur):
            converged = True
            dropped = drop
            break
        cur, dropped = new, drop
    node_in = np.zeros(g.n_nodes)
    node_out = np.zeros(g.n_nodes)
    if direction == "forward":
        m_in = (g.dst >= 0) & ~consumed
        np.add.at(node_in, g.dst[m_in], cur[m_in])
        m_out = g.src >= 0
        np.add.at(node_out, g.src[m_out], cur[m_out] + dropped[m_out])
    else:
        m_in = g.src >= 0
        np.add.at(node_in, g.src[m_in], cur[m_in])
        m_out = (g.dst >= 0) & ~consumed
        np.add.at(node_out, g.dst[m_out], cur[m_out] + dropped[m_out])
    return SweepResult(cur, hop, dropped, it, converged, node_in, node_out)
