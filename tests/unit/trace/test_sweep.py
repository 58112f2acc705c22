"""The vectorised sweep against the plain-Python definition, and the model properties (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.trace.reference import hop_limited, reference_forward

from chainsleuth.trace.sweep import ROLE_FROM_SERVICE, ROLE_INTO_SERVICE, FlowGraph, linear_scan, sweep


@st.composite
def graphs(draw, gaps_allowed: bool = True):
    n = draw(st.integers(2, 6))
    E = draw(st.integers(1, 22))
    src, dst, amt = [], [], []
    for _ in range(E):
        s = draw(st.integers(-1, n - 1))
        d = draw(st.integers(-1, n - 1).filter(lambda x, s=s: x != s or x == -1))
        if s == d:
            d = -1
        src.append(s)
        dst.append(d)
        amt.append(float(draw(st.integers(1, 1000))) * 1e15)
    b0 = [float(draw(st.sampled_from([0, 0, 5, 300]))) * 1e15 for _ in range(n)]
    g = FlowGraph(
        n_nodes=n,
        src=np.array(src, dtype=np.int64),
        dst=np.array(dst, dtype=np.int64),
        amount=np.array(amt),
        out_key=np.arange(E, dtype=np.int64),
        in_key=np.arange(E, dtype=np.int64),
        b0=np.array(b0),
        source=np.arange(n) == 0,
    )
    if not gaps_allowed:
        # make every spend affordable: give each sender enough prior balance
        g.b0 = g.b0 + np.bincount(np.maximum(g.src, 0), weights=g.amount * (g.src >= 0), minlength=n)
    return g


@pytest.mark.parametrize("model", ["haircut", "fifo", "poison"])
@pytest.mark.parametrize("gaps", ["proportional", "clean"])
@settings(max_examples=60, deadline=None)
@given(g=graphs())
def test_converged_sweep_equals_sequential_definition(g, model, gaps):
    res = sweep(g, model, "forward", max_hops=g.amount.size + 2, gaps=gaps)
    ref = reference_forward(g, model, gaps)
    assert res.converged
    np.testing.assert_allclose(res.taint, ref, rtol=1e-7, atol=1e-3 * 1e15)


@pytest.mark.parametrize("model", ["haircut", "fifo", "poison"])
@settings(max_examples=60, deadline=None)
@given(g=graphs(), hops=st.integers(1, 4))
def test_hop_limit_matches_definition_and_is_monotone(g, model, hops):
    a = sweep(g, model, "forward", max_hops=hops)
    np.testing.assert_allclose(a.taint, hop_limited(g, model, hops), rtol=1e-7, atol=1e12)
    b = sweep(g, model, "forward", max_hops=hops + 1)
    assert np.all(b.taint >= a.taint - 1e-6 * g.amount)


@pytest.mark.parametrize("model", ["haircut", "fifo"])
@settings(max_examples=60, deadline=None)
@given(g=graphs(gaps_allowed=False))
def test_conservation_tainted_out_never_exceeds_tainted_in(g, model):
    res = sweep(g, model, "forward", max_hops=40, gaps="clean")
    non_source = ~g.source
    assert np.all(res.node_out[non_source] <= res.node_in[non_source] * (1 + 1e-9) + 1e3)
    # and no edge carries more than its amount
    assert np.all(res.taint <= g.amount * (1 + 1e-12))


@settings(max_examples=40, deadline=None)
@given(g=graphs(gaps_allowed=False))
def test_poison_dominates_haircut_and_fifo(g):
    p = sweep(g, "poison", "forward", max_hops=40).taint
    for model in ("haircut", "fifo"):
        t = sweep(g, model, "forward", max_hops=40, gaps="clean").taint
        assert np.all(p >= t - 1e-6 * g.amount)


@settings(max_examples=50, deadline=None)
@given(g=graphs(gaps_allowed=False))
def test_backward_poison_reaches_every_edge_on_a_time_respecting_path_to_the_target(g):
    E = g.amount.size
    res = sweep(g, "poison", "backward", max_hops=E + 2)
    demanded = np.zeros(E, bool)
    changed = True
    while changed:
        changed = False
        for e in range(E):
            r = g.dst[e]
            if demanded[e] or r < 0:
                continue
            later = [f for f in range(E) if g.src[f] == r and demanded[f] and g.out_key[f] > g.in_key[e]]
            if g.source[r] or later:
                demanded[e] = changed = True
    np.testing.assert_array_equal(res.taint > 0, demanded)


def test_backward_haircut_adjoint_identity():
    """For one node, sum_k out_taint_k * demand_k == sum_j in_taint_j * backward_fraction_j."""
    rng = np.random.default_rng(7)
    for _ in range(30):
        E = 12
        is_out = rng.random(E) < 0.5
        amt = rng.integers(1, 100, E).astype(float)
        src = np.where(is_out, 0, -1)
        dst = np.where(is_out, -1, 0)
        g = FlowGraph(1, src, dst, amt, np.arange(E), np.arange(E), np.array([50.0]), np.array([False]))
        from chainsleuth.trace.sweep import _Events

        ev = _Events(g, "clean")
        x = np.where(is_out, 0.0, rng.random(E) * amt)  # inflow taints
        F = ev.forward("haircut", x)
        y = np.where(is_out, rng.random(E), 0.0)  # demand fractions on outflows
        Dfrac = ev.backward("haircut", y * amt)
        lhs = np.sum(F * amt * y)
        rhs = np.sum(x * Dfrac)
        assert lhs == pytest.approx(rhs, rel=1e-9)


def test_linear_scan_long_decay_uses_carry():
    n = 5000
    m = np.full(n, 0.7)
    i = np.ones(n)
    start = np.zeros(n, bool)
    start[0] = True
    x = linear_scan(m, i, start)
    ref = np.empty(n)
    acc = 0.0
    for k in range(n):
        acc = (m[k] * acc if k else 0.0) + i[k]
        ref[k] = acc
    np.testing.assert_allclose(x, ref, rtol=1e-9)


def test_swap_group_carries_taint_to_the_other_asset():
    # node 0 = attacker ETH, node 1 = attacker USDT; edge0: source pays 10 ETH to node 0... simpler:
    # source node 0 (ETH) sends 10 ETH into a pool (untracked) and the pool pays 30000 USDT to node 1.
    g = FlowGraph(
        n_nodes=2,
        src=np.array([0, -1, 1]),
        dst=np.array([-1, 1, -1]),
        amount=np.array([10e18, 30000e6, 30000e6]),
        out_key=np.array([0, 1, 2]),
        in_key=np.array([0, 1, 2]),
        b0=np.array([10e18, 0.0]),
        source=np.array([True, False]),
        group=np.array([0, 0, -1]),
        role=np.array([ROLE_INTO_SERVICE, ROLE_FROM_SERVICE, 0], dtype=np.int8),
        weight=np.array([3000 / 1e18, 1 / 1e6, 1 / 1e6]),
    )
    res = sweep(g, "haircut", "forward", max_hops=5)
    assert res.taint[1] == pytest.approx(30000e6)
    assert res.taint[2] == pytest.approx(30000e6)
    back = sweep(FlowGraph(**{**g.__dict__, "source": np.array([False, True])}), "haircut", "backward", 5)
    assert back.taint[0] == pytest.approx(10e18)


def test_balance_before_the_theft_stays_clean():
    # node 1 holds 90 clean, receives 10 tainted, sends 50: haircut 5 tainted, fifo 0, poison 50
    g = FlowGraph(2, np.array([0, 1]), np.array([1, -1]), np.array([10.0, 50.0]), np.array([1, 2]),
                  np.array([1, 2]), np.array([10.0, 90.0]), np.array([True, False]))
    assert sweep(g, "haircut").taint[1] == pytest.approx(5.0)
    assert sweep(g, "fifo").taint[1] == pytest.approx(0.0)
    assert sweep(g, "poison").taint[1] == pytest.approx(50.0)


def test_value_cannot_leave_before_it_arrives():
    # node 1 sends 10 at t=1, receives 10 tainted at t=2: the earlier outflow is clean in every model
    g = FlowGraph(2, np.array([1, 0]), np.array([-1, 1]), np.array([10.0, 10.0]), np.array([1, 2]),
                  np.array([1, 2]), np.array([10.0, 10.0]), np.array([True, False]))
    for model in ("haircut", "fifo", "poison"):
        assert sweep(g, model).taint[0] == 0.0
