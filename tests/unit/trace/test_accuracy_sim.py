"""Accuracy against the simulator's ground truth (truth.json): per-exit values, recall and precision.

Scored per incident and asset: recall = sum over true final places of min(traced, true) / sum true;
precision = the same sum / everything the trace reports at end points (exits + resting). See docs/accuracy.md
for the figures on the small world and what is below target (mixer demixing)."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from chainsleuth import store
from chainsleuth.ingest.etl import load_etl
from chainsleuth.ingest.prices import load_prices
from chainsleuth.labels.importer import import_file
from chainsleuth.simulate import simulate
from chainsleuth.trace import trace

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("world")
    simulate(out, seed=3, scale=20_000)
    db = out / "w.duckdb"
    con = store.connect(db)
    load_etl(con, out / "ethereum", "ethereum")
    load_etl(con, out / "bitcoin", "bitcoin")
    load_prices(con, out / "prices.csv")
    import_file(con, out / "tags.yaml")
    truth = json.loads((out / "truth.json").read_text())
    yield con, {i["profile"]: i for i in truth["incidents"]}
    con.close()


def _sources(inc):
    return [a["address"] for a in inc["attacker_addresses"] if a["role"] in ("drain", "exploiter", "scam")]


def _score(result, inc):
    got = defaultdict(int)
    for x in result.exits + result.resting:
        got[(x.chain, x.address, x.asset)] += x.amount
    want = {(f["chain"], f["address"], f["asset_id"]): int(f["amount"]) for f in inc["final"]}
    out = {}
    for asset in {k[2] for k in want}:
        w = {k: v for k, v in want.items() if k[2] == asset}
        g = {k: v for k, v in got.items() if k[2] == asset}
        hit = sum(min(g.get(k, 0), v) for k, v in w.items())
        out[asset] = (hit / sum(w.values()), hit / max(sum(g.values()), 1), w, g)
    return out


@pytest.mark.parametrize("model", ["poison", "haircut", "fifo"])
def test_scammer_exits_match_truth(world, model):
    con, incs = world
    inc = incs["scammer"]
    for asset, (recall, precision, w, g) in _score(trace(con, _sources(inc), "ethereum", model=model), inc).items():
        # ETH: the crew's own gas money (withdrawn from a mixer into the scam addresses) counts as stolen by
        # the default window (every inflow of a source), and truth excludes it: ~3 % of the ETH.
        assert recall >= 0.99 and precision >= (0.95 if asset == "ETH" else 0.99), (asset, recall, precision)
        exact = sum(1 for k, v in w.items() if g.get(k) == v)
        if asset != "ETH":
            assert exact == len(w)  # pure laundering paths: exact integers


@pytest.mark.parametrize("model", ["poison", "haircut", "fifo"])
def test_lazarus_like_through_swaps_and_bridge(world, model):
    con, incs = world
    inc = incs["lazarus-like"]
    scores = _score(trace(con, _sources(inc), "ethereum", model=model), inc)
    for asset, (recall, precision, _w, _g) in scores.items():
        # BTC, after the bridge and a CoinJoin: the actor's change is followed exactly; the equal outputs it
        # never merges with its change stay in the mix (about 1 % of the value on this world)
        floor = 0.98 if asset == "BTC" else 0.99
        assert recall >= floor and precision >= floor, (asset, recall, precision)


def test_exploiter_value_ends_in_mixer_pools(world):
    con, incs = world
    inc = incs["exploiter"]
    r = trace(con, _sources(inc), "ethereum", model="haircut")
    total = sum(int(f["amount"]) for f in inc["final"])
    ours = sum(x.amount for x in r.exits + r.resting)
    assert ours == pytest.approx(total, rel=0.01)
    assert {x.category for x in r.exits} >= {"mixer"}


def test_backward_from_a_deposit_reaches_the_victims(world):
    con, incs = world
    inc = incs["scammer"]
    deposit = next(f["address"] for f in inc["final"] if f["category"] == "deposit")
    r = trace(con, [deposit], "ethereum", direction="backward", max_hops=12)
    # the victims whose stolen funds reached this deposit, by the truth's hops (same asset, time-respecting)
    upstream: set[str] = set()
    for asset in {f["asset"] for f in inc["final"] if f["address"] == deposit}:
        best = {deposit: "9999"}
        todo = [deposit]
        while todo:
            a = todo.pop()
            for h in inc["hops"]:
                if h["to"] == a and h["asset"] == asset and h["time"] <= best[a] and h["time"] > best.get(h["from"], ""):
                    best[h["from"]] = h["time"]
                    upstream.add(h["from"])
                    todo.append(h["from"])
    victims = {v["address"] for v in inc["victims"]} & upstream
    froms = {e.from_ for e in r.edges}
    assert victims and len(victims & froms) / len(victims) >= 0.95
