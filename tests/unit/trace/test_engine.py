"""trace() end to end on small real DuckDB ledgers built by SQL inserts."""

from __future__ import annotations

import pytest
from tests.unit.trace.ledger import ETH, Ledger, addr

from chainsleuth.errors import NotFoundError
from chainsleuth.trace import trace

V1, V2, A, B, C, D, E, X, HOT, DEP, POOL, MIX = (addr(n) for n in
                                                 ["V1", "V2", "A", "B", "C", "D", "E", "X", "HOT", "DEP", "POOL", "MIX"])


def _world(con):
    led = Ledger(con)
    led.send(10, X, V1, 20 * ETH)  # victims' balances from before the theft
    led.send(11, X, V2, 20 * ETH)
    led.send(50, X, D, 2 * ETH)  # D holds 2 clean ETH
    theft1 = led.send(100, V1, A, 10 * ETH)
    theft2 = led.send(101, V2, A, 5 * ETH)
    led.send(102, A, B, 15 * ETH)
    led.send(103, B, C, 7 * ETH)
    led.send(104, B, D, 8 * ETH)
    to_hot = led.send(105, C, HOT, 7 * ETH)
    led.send(106, D, E, 10 * ETH)
    led.tag(HOT, "Binance 14", "hot_wallet")
    led.price("ETH", 3000.0)
    led.commit()
    return led, (theft1, theft2, to_hot)


def test_forward_haircut_exits_resting_and_totals(con):
    _, (t1, t2, to_hot) = _world(con)
    r = trace(con, [A], "ethereum", model="haircut")
    d = r.to_dict()
    assert d["model"] == "haircut" and d["sources"] == [A]
    [ex] = d["exits"]
    assert ex["address"] == HOT and ex["amount"] == str(7 * ETH) and ex["category"] == "hot_wallet"
    assert ex["tx_hashes"] == [to_hot] and ex["usd"] == pytest.approx(21000.0)
    rest = {x["address"]: int(x["amount"]) for x in d["resting"]}
    assert rest == {E: 8 * ETH}  # D mixed 2 clean ETH in: haircut keeps 8 of its 10 tainted
    [tot] = d["totals"]["by_asset"]
    assert int(tot["source"]) == 15 * ETH
    assert int(tot["to_exits"]) + int(tot["resting"]) == 15 * ETH
    assert {e["tx_hash"] for e in d["edges"]} >= {to_hot}


def test_models_differ_only_where_clean_money_mixes_in(con):
    _world(con)
    poison = {x.address: x.amount for x in trace(con, [A], "ethereum", model="poison").resting}
    fifo = {x.address: x.amount for x in trace(con, [A], "ethereum", model="fifo").resting}
    assert poison == {E: 10 * ETH}  # poison taints all of D's outflow
    assert fifo == {E: 8 * ETH}


def test_max_hops_bounds_the_trace(con):
    _world(con)
    r = trace(con, [A], "ethereum", max_hops=2)
    assert not r.exits  # HOT is 3 hops from A
    rest = {x.address: (x.amount, x.hop_limited) for x in r.resting}
    assert rest[C] == (7 * ETH, True)


def test_backward_from_exit_reaches_the_victims(con):
    _world(con)
    r = trace(con, [HOT], "ethereum", direction="backward")
    froms = {e.from_ for e in r.edges}
    assert {V1, V2, A, B, C} <= froms


def test_unknown_source_is_a_clear_error(con):
    _world(con)
    with pytest.raises(NotFoundError):
        trace(con, [addr("nobody")], "ethereum")


def test_deposit_address_recognised_with_its_exchange(con):
    led = Ledger(con)
    led.send(1, addr("u1"), DEP, 1 * ETH)
    led.send(2, DEP, HOT, 1 * ETH)
    led.send(10, V1, A, 4 * ETH)
    tx = led.send(11, A, DEP, 4 * ETH)
    led.send(12, DEP, HOT, 4 * ETH)
    led.tag(HOT, "Kraken 3", "exchange")
    led.commit()
    r = trace(con, [A], "ethereum")
    [ex] = r.exits
    assert ex.address == DEP and ex.category == "deposit" and "Kraken 3" in ex.label and ex.tx_hashes == [tx]


def test_swap_carries_taint_into_the_other_asset(con):
    led = Ledger(con)
    usdt = led.token("0x" + "d" * 40, "USDT", 6)
    led.send(1, addr("lp"), POOL, 1_000_000 * 10**6, usdt)
    led.send(10, V1, A, 10 * ETH)
    tx = led.send(11, A, POOL, 10 * ETH)
    led.send(11, POOL, A, 30_000 * 10**6, usdt, tx=tx)
    out = led.send(12, A, HOT, 30_000 * 10**6, usdt)
    led.tag(POOL, "Uniswap V2: USDT", "dex")
    led.tag(HOT, "Binance 14", "exchange")
    led.price("ETH", 3000.0)
    led.price("USDT", 1.0)
    led.commit()
    r = trace(con, [A], "ethereum")
    [ex] = r.exits
    assert ex.asset == usdt and ex.amount == 30_000 * 10**6 and ex.tx_hashes == [out]
    assert any(e.kind == "swap" for e in r.edges)


def test_mixer_is_an_exit_and_demix_follows_likely_withdrawals(con):
    led = Ledger(con)
    W = addr("W")
    led.send(5, W, A, 1 * ETH)  # W and A transacted before: linked addresses
    led.send(10, V1, A, 10 * ETH)
    led.send(11, A, MIX, 10 * ETH)
    for k in range(3):
        led.send(12 + k, addr(f"other{k}"), MIX, 10 * ETH)
    led.send(20, MIX, addr("w-other"), 10 * ETH)
    led.send(21, MIX, W, 10 * ETH)  # withdrawn to the linked address
    led.send(22, W, HOT, 10 * ETH)
    led.tag(MIX, "Tornado.Cash 10 ETH", "mixer")
    led.tag(HOT, "Binance 14", "exchange")
    led.commit()
    plain = trace(con, [A], "ethereum", after=10)
    assert [x.category for x in plain.exits] == ["mixer"]
    r = trace(con, [A], "ethereum", after=10, demix=True, model="haircut")
    cats = sorted(x.category for x in r.exits)
    assert cats == ["exchange", "mixer"]
    best = max(r.demix, key=lambda x: x["probability"])
    assert best["withdrawal_to"] == W and "linked-addresses" in best["signals"] and best["probability"] > 0.9
    [to_hot] = [x for x in r.exits if x.category == "exchange"]
    assert to_hot.amount == pytest.approx(10 * ETH * best["probability"], rel=1e-6)
    assert any(e.kind == "demix" and e.probability == best["probability"] for e in r.edges)
