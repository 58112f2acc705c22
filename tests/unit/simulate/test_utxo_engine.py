"""The UTXO round engine's incremental bookkeeping gives exactly what the plain way gives: the users'
spendable-output counts and owner index against masks over the whole pool after every round, the weighted
draw of spenders against ``Generator.choice``, largest-first input selection against a full sort, and the
CoinJoin queue's count of waiting actors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainsleuth.simulate.economy import JoinQueue, World, weighted_sample
from chainsleuth.simulate.incidents import plan_incidents
from chainsleuth.simulate.world import Config


def _mask_counts(eng, n_users: int) -> np.ndarray:
    spendable = (eng.p_owner < n_users) & eng.p_alive & (eng.p_ready <= eng.round)
    return np.bincount(eng.p_owner[spendable], minlength=n_users)


def test_user_bookkeeping_matches_pool_masks_every_round():
    w = World(Config(seed=5, transfers=40_000))
    w.evm_background()
    w.btc_setup()
    plan_incidents(w)
    w.evm_sweeps()
    w.btc_genesis()
    eng, n = w.btc, w.n_btc_users
    probe = np.random.default_rng(0)
    compactions: list[int] = []
    compact = eng._compact_user_index
    eng._compact_user_index = lambda keep: (compactions.append(eng.round), compact(keep))[1]
    checked = 0
    for r in range(eng.rounds):
        eng.round = r
        assert np.array_equal(eng.user_counts()[:n], _mask_counts(eng, n)), f"counts differ at round {r}"
        owners = probe.choice(n, size=25, replace=False)
        idx, at = eng.user_outputs(owners)
        spendable = eng.p_alive & (eng.p_ready <= r)
        for j, o in enumerate(owners.tolist()):
            expected = np.flatnonzero(spendable & (eng.p_owner == o))  # pool order
            assert np.array_equal(idx[at == j], expected), f"outputs of user {o} differ at round {r}"
            checked += len(expected)
        assert [g.tolist() for g in eng.ready_groups(owners)] == [
            idx[at == j].tolist() for j in range(len(owners))
        ]
        eng.run_round(r, w.btc_round, w.miners)
    assert checked > 1_000  # the probes saw real outputs, not only empty users
    assert len(compactions) >= 3  # and the pool dropped spent entries (renumbering the index) on the way


@given(
    n=st.integers(min_value=1, max_value=3_000),
    shape=st.floats(min_value=0.3, max_value=3.0),
    frac=st.floats(min_value=0.0, max_value=1.0),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    integral=st.booleans(),
)
@settings(max_examples=200, deadline=None)
def test_weighted_sample_is_generator_choice(n, shape, frac, seed, integral):
    rng = np.random.default_rng(seed)
    weights = np.minimum(rng.pareto(shape, n) + 0.2, 300)
    if integral:  # many equal weights: equal cumulative steps
        weights = np.round(weights) + 1
    items = np.arange(n) * 3 + 7
    size = int(frac * n)
    a, b = np.random.default_rng(seed + 1), np.random.default_rng(seed + 1)
    expected = a.choice(items, size=size, replace=False, p=weights / weights.sum())
    assert np.array_equal(weighted_sample(b, items, weights, size), expected)
    assert a.random() == b.random()  # the same draws were consumed


def test_weighted_sample_refuses_more_draws_than_positive_weights():
    with pytest.raises(ValueError):
        weighted_sample(np.random.default_rng(0), np.arange(4), np.array([1.0, 0.0, 2.0, 0.0]), 3)


@pytest.mark.parametrize("n", [0, 1, 40, 5_000, 30_000])
def test_largest_first_is_the_prefix_of_a_full_sort(n):
    w = World(Config(seed=1, transfers=20_000))
    eng = w.btc
    rng = np.random.default_rng(n)
    values = rng.choice([546, 10_000, 25_000, 10**6, 10**8], size=n)  # many ties
    eng._cols[2] = values.astype(np.int64)
    eng._n = n
    cand = np.arange(n)[::-1].copy() if n else np.zeros(0, np.int64)  # not pool order
    order = cand[np.argsort(-values[cand], kind="stable")]
    csum = np.cumsum(values[order])
    total = int(csum[-1]) if n else 0
    for target in (1, 10**6, 10**8 + 1, 70 * 10**8, total // 2, total, total + 1):
        k = int(np.searchsorted(csum, target)) + 1
        got = eng._largest_first(cand, target)
        if k > n:
            assert got is None
        else:
            assert got is not None and got.tolist() == order[:k].tolist()


def test_join_queue_counts_waiting_actors():
    q = JoinQueue()
    for i in range(40):
        q.append({"owner": i, "idx": [], "cb": (lambda *a: None) if i in (3, 31) else None})
    assert len(q) == 40 and q.actors == 2
    first = q.take(15)
    assert [p["owner"] for p in first] == list(range(15)) and q.actors == 1
    q.append(first[3])
    assert q.actors == 2 and len(q) == 26
    rest = q.take(100)
    assert [p["owner"] for p in rest] == [*range(15, 40), 3] and q.actors == 0 and len(q) == 0
