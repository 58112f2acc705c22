"""Forward haircut propagation: a brute-force oracle of the definition on random ledgers, one address screened
alone equals the whole-chain screening, and payments carry only what their sender had received before."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainsleuth.screen import screen
from chainsleuth.screen.exposure import screen_chain
from chainsleuth.store.ledger import ensure_chain

T0 = datetime(2024, 1, 1)
WEI = 10**18
ADDR = ["0x" + f"{n + 1:040x}" for n in range(7)]
HACKER, MIXER, EXCH = ADDR[0], ADDR[1], ADDR[2]
KIND = {HACKER: "incident", MIXER: "mixer"}


@pytest.fixture
def ledger(con):
    ensure_chain(con, "ethereum")
    con.execute(
        "INSERT INTO tags (chain, address, label, category, source, added_by) VALUES "
        "('ethereum', ?, 'thief', 'hacker', 't', 't'), ('ethereum', ?, 'Tornado', 'mixer', 't', 't'),"
        "('ethereum', ?, 'Binance', 'exchange', 't', 't')",
        [HACKER, MIXER, EXCH],
    )
    return con


def store_flows(con, flows) -> None:
    con.execute("DELETE FROM transfers")
    for n, (src, dst, hour, eth) in enumerate(flows):
        con.execute("INSERT INTO transfers VALUES ('ethereum', ?, ?, ?, ?, 'native', '', 0, ?, ?, 'ETH', ?, NULL)",
                    [hour, T0 + timedelta(hours=hour), "0x" + f"{n + 1:064x}", n, src, dst, eth * WEI])


def oracle(flows, hops: int, min_weight: float = 1e-6) -> dict[tuple[str, str, int], float]:
    """(target, source, hop) -> share, straight from the definition in chainsleuth.screen.propagate."""
    flows = [(s, d, h, float(v)) for s, d, h, v in flows if s != d]
    memo: dict = {}

    def a(k: int, src: str, g: int) -> float:
        if (k, src, g) not in memo:
            x, _, hour, _ = flows[g]
            if k == 1:
                val = 1.0 if x == src else 0.0
            elif x in KIND or x == EXCH:
                val = 0.0
            else:
                inflow = [(f, v) for f, (_, d, hf, v) in enumerate(flows) if d == x and hf <= hour]
                den = sum(v for _, v in inflow)
                val = sum(v * a(k - 1, src, f) for f, v in inflow) / den if den else 0.0
                val = val if val >= min_weight else 0.0
            memo[(k, src, g)] = val
        return memo[(k, src, g)]

    out = {}
    for t in {d for _, d, _, _ in flows}:
        into = [(f, v) for f, (_, d, _, v) in enumerate(flows) if d == t]
        total = sum(v for _, v in into)
        for src in KIND:
            for k in range(1, hops + 1):
                share = sum(v * a(k, src, f) for f, v in into) / total
                if share:
                    out[(t, src, k)] = share
    return out


flow = st.tuples(st.sampled_from(ADDR), st.sampled_from(ADDR), st.integers(0, 5), st.integers(1, 50))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flows=st.lists(flow, min_size=1, max_size=16), hops=st.integers(1, 4))
def test_shares_follow_the_definition_and_one_address_equals_the_whole_chain(ledger, flows, hops):
    store_flows(ledger, flows)
    want = oracle(flows, hops)
    if not any(s != d for s, d, _, _ in flows):
        return
    everyone = screen_chain(ledger, "ethereum", hops=hops)
    got = {(r.address, s["address"], s["hop"]): s["share"] for r in everyone for s in r.sources}
    assert got.keys() == want.keys()
    for key, share in want.items():
        assert math.isclose(got[key], share, rel_tol=1e-9), key
    for r in everyone:  # direct/indirect totals are the per-source shares summed
        for kind in ("incident", "mixer"):
            assert math.isclose(r.exposure[kind]["direct"], sum(
                v for (t, s, k), v in want.items() if t == r.address and KIND[s] == kind and k == 1), abs_tol=1e-12)
    for y in everyone:  # each address alone: the propagation runs on its own backward cone
        (x,) = screen(ledger, [y.address], "ethereum", hops=hops)
        dx, dy = x.to_dict(), y.to_dict()
        assert dx["risk"] == dy["risk"] and len(dx["sources"]) == len(dy["sources"])
        for s1, s2 in zip(dx["sources"], dy["sources"], strict=True):
            assert math.isclose(s1.pop("share"), s2.pop("share"), rel_tol=1e-9)
            assert math.isclose(s1.pop("value"), s2.pop("value"), rel_tol=1e-9)
            assert s1 == s2


def test_a_payment_carries_only_what_its_sender_had_received_by_then(ledger):
    mid, first, second = ADDR[3], ADDR[4], ADDR[5]
    store_flows(ledger, [(HACKER, mid, 1, 10), (mid, first, 2, 10), (ADDR[6], mid, 3, 30), (mid, second, 4, 20)])
    a, b = screen(ledger, [first, second], "ethereum")
    assert a.exposure["incident"]["indirect"] == pytest.approx(1.0)  # paid before the clean 30 arrived
    assert b.exposure["incident"]["indirect"] == pytest.approx(10 / 40)
    (ev,) = b.sources[0]["evidence"]
    assert ev["from"] == mid and ev["tainted_value"] == pytest.approx(5.0) and b.sources[0]["via"] == mid


def test_hops_count_flows_and_exchanges_pass_nothing_on(ledger):
    a, b, c = ADDR[3], ADDR[4], ADDR[5]
    store_flows(ledger, [(HACKER, a, 1, 8), (a, b, 2, 8), (b, c, 3, 8), (HACKER, EXCH, 1, 50), (EXCH, c, 4, 8)])
    (r3,) = screen(ledger, [c], "ethereum", hops=3)
    assert [(s["hop"], s["share"]) for s in r3.sources] == [(3, pytest.approx(0.5))]
    (r2,) = screen(ledger, [c], "ethereum", hops=2)
    assert r2.sources == [] and r2.exposure["incident"]["total"] == 0.0


def test_a_sender_reached_again_with_a_later_payment_is_read_once(ledger):
    """X pays T (t=5) and, later, Y (t=8) who pays T: the cone reads X's inflows up to 5, then 5..8 -- the
    hacker's payment at exactly t=5 must count once."""
    x, y, t, clean = ADDR[3], ADDR[4], ADDR[5], ADDR[6]
    store_flows(ledger, [(clean, x, 3, 10), (HACKER, x, 5, 10), (x, t, 5, 5), (x, y, 8, 5), (y, t, 9, 5)])
    (alone,) = screen(ledger, [t], "ethereum", hops=3)
    assert sorted((s["hop"], s["share"]) for s in alone.sources) == [(2, pytest.approx(0.25)), (3, pytest.approx(0.25))]
    (whole,) = [r for r in screen_chain(ledger, "ethereum", hops=3) if r.address == t]
    assert whole.to_dict() == alone.to_dict()
