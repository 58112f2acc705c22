"""Plain-Python reference of the taint models: one pass over all events in time order, per-node state in
dicts. It is the definition the vectorised sweep must reproduce (at convergence, i.e. unbounded hops)."""

from __future__ import annotations

from collections import deque

import numpy as np

from chainsleuth.trace.sweep import FlowGraph


def reference_forward(g: FlowGraph, model: str, gaps: str = "proportional") -> np.ndarray:
    """Tainted amount per edge, sequential single pass (no swap groups, no seeds, no threshold)."""
    E = g.amount.size
    events = []
    for e in range(E):
        events.append((int(g.out_key[e]), 0, e))  # the sending side first at equal keys
        events.append((int(g.in_key[e]), 1, e))
    events.sort()
    B = {n: max(float(g.b0[n]), 0.0) for n in range(g.n_nodes)}
    T = dict.fromkeys(range(g.n_nodes), 0.0)
    Q = {n: deque([[B[n], 0.0]]) if B[n] > 0 else deque() for n in range(g.n_nodes)}
    poisoned = dict.fromkeys(range(g.n_nodes), False)
    last_in = dict.fromkeys(range(g.n_nodes), 0.0)
    taint = np.zeros(E)
    for _key, side, e in events:
        a = float(g.amount[e])
        if side == 0:
            s = int(g.src[e])
            if s < 0:
                continue
            deficit = max(a - B[s], 0.0)
            if model == "haircut":
                den = B[s] if gaps == "proportional" else B[s] + deficit
                f = min(max(T[s] / den, 0.0), 1.0) if den > 0 else 0.0
                T[s] = T[s] * (max(B[s] + deficit - a, 0.0) / den) if den > 0 else 0.0
            elif model == "poison":
                f = 1.0 if poisoned[s] else 0.0
            else:  # fifo
                if deficit > 0:
                    Q[s].append([deficit, last_in[s] if gaps == "proportional" else 0.0])
                need, got = a, 0.0
                while need > 1e-9 * a and Q[s]:
                    lot = Q[s][0]
                    take = min(lot[0], need)
                    got += take * lot[1]
                    lot[0] -= take
                    need -= take
                    if lot[0] <= 1e-9 * a:
                        Q[s].popleft()
                f = min(max(got / a, 0.0), 1.0)
            if g.source[s]:
                f = 1.0
            B[s] = max(B[s] + deficit - a, 0.0)
            taint[e] = f * a
        else:
            r = int(g.dst[e])
            if r < 0:
                continue
            B[r] += a
            T[r] += taint[e]
            if taint[e] > 0:
                poisoned[r] = True
            Q[r].append([a, taint[e] / a])
            last_in[r] = taint[e] / a
    return taint


def hop_limited(g: FlowGraph, model: str, max_hops: int, gaps: str = "proportional") -> np.ndarray:
    """Taint over paths of at most ``max_hops`` edges, by the definition: iterate the single pass where
    iteration h only lets through taint that arrived in iteration h-1."""
    E = g.amount.size
    cur = np.zeros(E)
    for _ in range(max_hops):
        new = np.zeros(E)
        # replay every node's events with inflow taints fixed to the previous iteration's
        B = {n: max(float(g.b0[n]), 0.0) for n in range(g.n_nodes)}
        T = dict.fromkeys(range(g.n_nodes), 0.0)
        poisoned_at = {}
        last_in = dict.fromkeys(range(g.n_nodes), 0.0)
        evs = sorted([(int(g.in_key[e]), 0, e) for e in range(E)] + [(int(g.out_key[e]), 1, e) for e in range(E)])
        Q = {n: deque([[B[n], 0.0]]) if B[n] > 0 else deque() for n in range(g.n_nodes)}
        for key, side, e in evs:
            a = float(g.amount[e])
            if side == 0:
                r = int(g.dst[e])
                if r < 0:
                    continue
                B[r] += a
                T[r] += cur[e]
                Q[r].append([a, cur[e] / a])
                last_in[r] = cur[e] / a
                if cur[e] > 0:
                    poisoned_at.setdefault(r, key)
            else:
                s = int(g.src[e])
                if s < 0:
                    continue
                deficit = max(a - B[s], 0.0)
                if model == "haircut":
                    den = B[s] if gaps == "proportional" else B[s] + deficit
                    f = min(max(T[s] / den, 0.0), 1.0) if den > 0 else 0.0
                    T[s] = T[s] * (max(B[s] + deficit - a, 0.0) / den) if den > 0 else 0.0
                elif model == "poison":
                    f = 1.0 if s in poisoned_at and poisoned_at[s] < key else 0.0
                else:
                    if deficit > 0:
                        Q[s].append([deficit, last_in[s] if gaps == "proportional" else 0.0])
                    need, got = a, 0.0
                    while need > 1e-9 * a and Q[s]:
                        lot = Q[s][0]
                        take = min(lot[0], need)
                        got += take * lot[1]
                        lot[0] -= take
                        need -= take
                        if lot[0] <= 1e-9 * a:
                            Q[s].popleft()
                    f = min(max(got / a, 0.0), 1.0)
                if g.source[s]:
                    f = 1.0
                B[s] = max(B[s] + deficit - a, 0.0)
                new[e] = f * a
        cur = new
    return cur
