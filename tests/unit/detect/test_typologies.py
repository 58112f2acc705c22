"""Typology detectors on traced flows built in the tracer's documented edge/exit format."""

from __future__ import annotations

from datetime import datetime, timedelta

from chainsleuth.detect.flow import Flow, flow_from_trace
from chainsleuth.detect.typologies import (
    cash_out,
    chain_hopping,
    detect_typologies,
    dormancy,
    fan_in,
    fan_out,
    is_round,
    mixer_use,
    peel_chain,
    round_amounts,
    swap_hopping,
)

T = datetime(2024, 3, 20)
ETH = 10**18
_n = 0


def edge(src, dst, amount, *, hop=1, minutes=0, asset="ETH", kind="transfer", chain="ethereum", usd=None):
    global _n
    _n += 1
    return {"chain": chain, "tx_hash": f"0x{_n:064x}", "block_number": _n, "time": (T + timedelta(minutes=minutes)).isoformat(),
            "from": src, "to": dst, "asset": asset, "amount": str(amount), "usd": usd, "hop": hop, "kind": kind}


def flow(edges, exits=(), labels=None, decimals=None) -> Flow:
    f = flow_from_trace({"sources": ["A"], "edges": list(edges), "exits": list(exits)})
    for (chain, address), (label, category) in (labels or {}).items():
        f.labels[(chain, address)] = {"address": address, "label": label, "category": category, "entity": label}
    f.decimals.update(decimals or {})
    return f


def test_peel_chain_found_and_not_on_plain_hops():
    edges, cur = [], "A"
    for i in range(5):
        nxt = f"P{i}"
        edges += [edge(cur, nxt, (90 - i) * ETH, hop=i + 1, minutes=10 * i),
                  edge(cur, f"peel{i}", 3 * ETH, hop=i + 1, minutes=10 * i)]
        cur = nxt
    t = peel_chain(flow(edges))
    assert t.detected and t.measures["longest"] == 5
    assert {e["tx_hash"] for e in t.evidence} == {e["tx_hash"] for e in edges}
    # plain single-recipient hops are not a peel chain
    plain = [edge(f"H{i}", f"H{i + 1}", 10 * ETH, hop=i) for i in range(6)]
    assert not peel_chain(flow(plain)).detected
    # an even split is not a peel step
    even = [edge("A", "X", 5 * ETH), edge("A", "Y", 5 * ETH), edge("X", "Z", 5 * ETH), edge("X", "W", 5 * ETH)]
    assert peel_chain(flow(even)).measures["peel_steps"] == 0


def test_fan_out_and_fan_in():
    out = [edge("A", f"S{i}", ETH, minutes=i) for i in range(8)]
    back = [edge(f"S{i}", "C", ETH, hop=2, minutes=60 + i) for i in range(8)]
    f = flow(out + back)
    fo, fi = fan_out(f), fan_in(f)
    assert fo.detected and fo.measures["max_branches"] == 8
    assert fi.detected and fi.measures["max_sources"] == 8 and fi.first_hop == 2
    # spread over days, the same splits are not one fan-out
    slow = [edge("A", f"S{i}", ETH, minutes=i * 60 * 30) for i in range(8)]
    assert not fan_out(flow(slow)).detected
    # many senders into a labelled exchange is a cash-out, not a consolidation
    ex = {("ethereum", "C"): ("Binance 14", "exchange")}
    assert not fan_in(flow(back, labels=ex)).detected


def test_swap_and_chain_hopping():
    edges = [edge("A", "B", 1000 * 10**6, asset="usdt"), edge("B", "B", 2 * ETH, kind="swap", hop=2),
             edge("B", "bridge", 2 * ETH, hop=3, kind="bridge"), edge("B2", "C", 10**7, chain="bitcoin", asset="BTC", hop=4)]
    f = flow(edges)
    f.symbols[("ethereum", "usdt")] = "USDT"
    s = swap_hopping(f)
    assert s.detected and s.measures["swaps"] == 1 and s.measures["pairs"] == {"USDT->ETH": 1}
    c = chain_hopping(f)
    assert c.detected and c.measures["chains"] == ["bitcoin", "ethereum"] and c.first_hop == 3
    assert not swap_hopping(flow([edge("A", "B", ETH)])).detected
    assert not chain_hopping(flow([edge("A", "B", ETH)])).detected


def test_mixer_use_names_mixer_and_denominations():
    labels = {("ethereum", "tc100"): ("Tornado.Cash: 100 ETH", "mixer")}
    edges = [edge("A", "tc100", 100 * ETH, minutes=i) for i in range(4)] + [edge("A", "B", 7 * ETH)]
    m = mixer_use(flow(edges, labels=labels))
    assert m.detected
    assert m.measures["mixers"][0]["mixer"] == "Tornado.Cash: 100 ETH"
    assert m.measures["mixers"][0]["deposits"] == 4
    assert m.measures["mixers"][0]["amounts"][0]["amount"] == str(400 * ETH)
    assert m.measures["denominations"] == {"100 ETH": 4}
    assert not mixer_use(flow(edges[-1:])).detected


def test_cash_out_from_exits():
    exits = [{"address": "dep1", "chain": "ethereum", "label": "Binance deposit", "category": "deposit",
              "entity": "Binance", "asset": "ETH", "amount": str(3 * ETH), "usd": 9000.0, "tx_hashes": ["0x1"], "hop": 4},
             {"address": "m", "chain": "ethereum", "label": "Tornado", "category": "mixer", "entity": "Tornado",
              "asset": "ETH", "amount": str(ETH), "usd": 3000.0, "tx_hashes": ["0x2"], "hop": 2}]
    c = cash_out(flow([], exits=exits))
    assert c.detected and [s["entity"] for s in c.measures["services"]] == ["Binance"] and c.first_hop == 4
    assert c.evidence == [{"entity": "Binance", "tx_hash": "0x1"}]


def test_dormancy():
    edges = [edge("A", "B", ETH, minutes=0), edge("B", "C", ETH, hop=2, minutes=60 * 24 * 30)]
    d = dormancy(flow(edges))
    assert d.detected and d.measures["max_days"] == 30.0
    assert d.evidence[0]["received_in"] == edges[0]["tx_hash"]
    quick = [edge("A", "B", ETH, minutes=0), edge("B", "C", ETH, hop=2, minutes=60)]
    assert not dormancy(flow(quick)).detected


def test_round_amounts():
    assert is_round(100 * ETH, 18) and is_round(5 * 10**17, 18) and is_round(20_000 * 10**6, 6)
    assert not is_round(123 * 10**16, 18) and not is_round(1, 18) and not is_round(0, 18)
    rounds = [edge("A", f"X{i}", 50 * ETH) for i in range(4)]
    odd = [edge("A", f"Y{i}", 1234567 * 10**12) for i in range(4)]
    r = round_amounts(flow(rounds + odd))
    assert r.detected and r.measures["share"] == 0.5
    assert not round_amounts(flow(odd)).detected


def test_all_detectors_run_on_empty_flow():
    typs = detect_typologies(flow([]))
    assert len(typs) == 9 and not any(t.detected for t in typs)
