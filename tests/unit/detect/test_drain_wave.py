"""Drain-wave detection on ledgers written into a real DuckDB store."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from detect_ledger_helpers import T0, USDT, Ledger, addr, background, drain_wave, prices

from chainsleuth.detect.drain import DrainParams, detect_drain_waves
from chainsleuth.detect.incidents import detect_incidents, get_incident, list_incidents
from chainsleuth.errors import ChainsleuthError, NotFoundError


@pytest.fixture
def world(con):
    rng = random.Random(7)
    led = Ledger(con)
    prices(con)
    background(led, rng)
    truth = drain_wave(led, rng, "wave", 9, T0 + timedelta(days=60))
    return con, truth


def test_background_alone_has_no_incident(con):
    led = Ledger(con)
    prices(con)
    background(led, random.Random(3))
    assert detect_drain_waves(con, "ethereum") == []
    # even a single drained wallet would count: deposit sweeps and merchant payments still are not incidents
    assert detect_drain_waves(con, "ethereum", params=DrainParams(min_victims=1, max_recipient_ratio=1.0)) == []


def test_detects_the_wave_with_exact_losses(world):
    con, truth = world
    [inc] = detect_drain_waves(con, "ethereum")
    assert {v.address for v in inc.victims} == set(truth["victims"])
    roles = {a["address"]: a["role"] for a in inc.attackers}
    assert {a for a, r in roles.items() if r == "recipient"} == set(truth["recipients"])
    assert roles[truth["consolidation"]] == "consolidation"
    assert inc.consolidated
    for v in inc.victims:
        got = {a["asset"]: a["amount"] for a in v.assets}
        assert got == truth["amounts"][v.address]
        assert all(a["amount"] >= 0.9 * a["balance_before"] for a in v.assets)
    losses = {x["asset"]: x["amount"] for x in inc.losses}
    assert losses["ETH"] == sum(a["ETH"] for a in truth["amounts"].values())
    assert losses[USDT] == sum(a[USDT] for a in truth["amounts"].values())
    expected_usd = losses["ETH"] / 1e18 * 2000 + losses[USDT] / 1e6
    assert inc.loss_usd == pytest.approx(expected_usd)
    assert truth["txs"] <= set(inc.evidence())
    assert inc.window_start == T0 + timedelta(days=60)


def test_ids_stable_and_store_roundtrip(world):
    con, _ = world
    first = detect_incidents(con)
    again = detect_incidents(con)
    assert [i.incident_id for i in first] == [i.incident_id for i in again]
    assert con.execute("SELECT count(*) FROM incidents").fetchone()[0] == 1
    stored = get_incident(con, first[0].incident_id)
    assert stored.to_dict()["victims"] == first[0].to_dict()["victims"]
    assert stored.to_dict()["losses"] == first[0].to_dict()["losses"]
    assert [i.incident_id for i in list_incidents(con, chain="ethereum")] == [first[0].incident_id]
    with pytest.raises(NotFoundError):
        get_incident(con, "INC-000000000000")


def test_since_and_thresholds(world):
    con, _ = world
    assert detect_drain_waves(con, "ethereum", since=T0 + timedelta(days=61)) == []
    assert detect_drain_waves(con, "ethereum", params=DrainParams(min_victims=10)) == []
    # victims funded 40+ days before: requiring 100 days of history rules them out
    assert detect_drain_waves(con, "ethereum", params=DrainParams(min_victim_age=timedelta(days=100))) == []


def test_two_waves_ranked_by_loss(con):
    rng = random.Random(11)
    led = Ledger(con)
    prices(con)
    background(led, rng, users=10)
    small = drain_wave(led, rng, "small", 5, T0 + timedelta(days=50))
    big = drain_wave(led, rng, "big", 12, T0 + timedelta(days=80), n_recipients=3)
    found = detect_drain_waves(con, "ethereum")
    assert [len(i.victims) for i in found] == [12, 5]
    assert {v.address for v in found[1].victims} == set(small["victims"])
    assert {v.address for v in found[0].victims} == set(big["victims"])
    assert found[0].loss_usd > found[1].loss_usd


def test_labelled_recipient_is_not_an_attacker(world):
    con, truth = world
    con.execute("INSERT INTO tags (chain, address, label, category, source, added_by) VALUES "
                "('ethereum', ?, 'Some DEX', 'dex', 'test', 'test')", [truth["recipients"][0]])
    [inc] = detect_drain_waves(con, "ethereum", params=DrainParams(min_victims=3))
    assert truth["recipients"][0] not in {a["address"] for a in inc.attackers}
    assert len(inc.victims) == 4  # only those paying the unlabelled drainer


def test_unknown_chain(con):
    with pytest.raises(ChainsleuthError):
        detect_drain_waves(con, "nochain")


def test_utxo_drain_wave(con):
    """Bitcoin: victims' UTXOs spent whole to fresh addresses (input-share edges)."""
    from chainsleuth.store.ledger import ensure_chain

    ensure_chain(con, "bitcoin")
    outs, ins = [], []
    n = 0

    def tx(t, inputs, outputs):
        nonlocal n
        n += 1
        h = f"{n:064x}"
        for i, (sh, si, a, v) in enumerate(inputs):
            ins.append(["bitcoin", h, i, n, t, sh, si, a, v])
        for i, (a, v) in enumerate(outputs):
            outs.append(["bitcoin", h, i, n, t, a, "p2pkh", None, v])
        return h

    victims = [f"1Victim{i}" for i in range(6)]
    funding = []
    for i, v in enumerate(victims):
        h = tx(T0 + timedelta(days=i), [], [(v, 10**8 * (i + 1))])
        funding.append((h, v, 10**8 * (i + 1)))
    when = T0 + timedelta(days=60)
    for i, (h, v, val) in enumerate(funding):
        tx(when + timedelta(minutes=i), [(h, 0, v, val)], [(f"1Thief{i % 2}", val - 1000)])
    # the two drainers consolidate (spending their received outputs) into one address
    thief_outs = [(o[1], o[2], o[5], o[8]) for o in outs if o[5].startswith("1Thief")]
    tx(when + timedelta(hours=2), thief_outs, [("1Sink", sum(o[3] for o in thief_outs) - 5000)])
    con.executemany("INSERT INTO utxo_outputs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", outs)
    con.executemany("INSERT INTO utxo_inputs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", ins)
    [inc] = detect_drain_waves(con, "bitcoin")
    assert {v.address for v in inc.victims} == set(victims)
    assert {(a["address"], a["role"]) for a in inc.attackers} == {
        ("1Thief0", "recipient"), ("1Thief1", "recipient"), ("1Sink", "consolidation")}
    assert sum(x["amount"] for x in inc.losses) == sum(v for _, _, v in funding) - 6 * 1000


def test_addr_helper_is_evm():
    assert len(addr("x")) == 42
