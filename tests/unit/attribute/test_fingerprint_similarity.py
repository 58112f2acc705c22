"""Fingerprints from flows, per-feature comparison with reasons, and score calibration."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from chainsleuth.attribute.calibration import confidence, fit_calibration
from chainsleuth.attribute.features import FEATURES, compare, lcs_ratio, quantiles
from chainsleuth.attribute.fingerprint import Fingerprint, canonical_service, compute_fingerprint
from chainsleuth.attribute.similarity import compare_fingerprints
from chainsleuth.detect.flow import flow_from_trace

ETH = 10**18
T = datetime(2024, 3, 20)


def mixer_style(rng: random.Random, name: str):
    """Split into round 100 ETH lots at night UTC, deposit into Tornado, fast hops."""
    edges, n = [], 0
    t = T + timedelta(hours=rng.randint(0, 2))

    def e(src, dst, amount, hop, minutes, kind="transfer"):
        nonlocal n
        n += 1
        return {"chain": "ethereum", "tx_hash": f"0x{name}{n:060x}", "time": (t + timedelta(minutes=minutes)).isoformat(),
                "from": src, "to": dst, "asset": "ETH", "amount": str(amount), "usd": amount / ETH * 3000, "hop": hop,
                "kind": kind}

    for i in range(rng.randint(6, 9)):
        edges.append(e("A", f"{name}s{i}", 100 * ETH, 1, i * 3))
        edges.append(e(f"{name}s{i}", "tc", 100 * ETH, 2, 20 + i * 3 + rng.randint(0, 5)))
    f = flow_from_trace({"sources": ["A"], "edges": edges, "exits": []})
    f.labels[("ethereum", "tc")] = {"address": "tc", "label": "Tornado.Cash 100 ETH", "category": "mixer", "entity": None}
    return f


def exchange_style(rng: random.Random, name: str):
    """A long peel chain in odd amounts over days, ending at exchange deposits in the afternoon."""
    edges, exits, cur, n = [], [], "A", 0
    for i in range(rng.randint(6, 9)):
        n += 1
        t = T + timedelta(days=i, hours=14 + rng.randint(0, 2))
        keep = rng.randint(50, 90) * ETH + rng.randint(1, 10**17)
        peel = rng.randint(1, 4) * ETH + rng.randint(1, 10**17)
        for dst, amt in ((f"{name}p{i}", keep), (f"{name}dep{i}", peel)):
            n += 1
            edges.append({"chain": "ethereum", "tx_hash": f"0x{name}{n:060x}", "time": t.isoformat(), "from": cur,
                          "to": dst, "asset": "ETH", "amount": str(amt), "usd": amt / ETH * 3000, "hop": i + 1,
                          "kind": "transfer"})
        exits.append({"address": f"{name}dep{i}", "chain": "ethereum", "label": "Binance 14", "category": "exchange",
                      "entity": "Binance", "asset": "ETH", "amount": str(peel), "usd": peel / ETH * 3000,
                      "tx_hashes": [edges[-1]["tx_hash"]], "hop": i + 1})
        cur = f"{name}p{i}"
    return flow_from_trace({"sources": ["A"], "edges": edges, "exits": exits})


def test_fingerprint_features_are_named_and_explained():
    flow = mixer_style(random.Random(1), "a")
    fp = compute_fingerprint("m1", flow)
    f = fp.features
    assert set(f) == set(FEATURES)
    assert f["mixers"] == {"tornado cash"} and "mixer" in f["service_categories"]
    assert f["typology_sequence"][:2] == ["fan_out", "round_amounts"] or "mixer_use" in f["typology_sequence"]
    assert f["mixer_denominations"] == {"100 ETH"}
    assert f["round_amount_share"] == 1.0
    assert f["gas_premium"] is None  # no ledger given: unknown, not zero
    assert sum(f["working_hours"]) == len(flow.edges)
    assert f["fan_out_degree"] == 1.0  # median over senders: 'A' splits to many, each lot goes to one mixer
    assert fp.to_dict()["features"]["mixers"] == ["tornado cash"]


def test_same_style_scores_higher_than_different_style():
    rng = random.Random(5)
    mix = [compute_fingerprint(f"m{i}", mixer_style(rng, f"m{i}")) for i in range(4)]
    exc = [compute_fingerprint(f"e{i}", exchange_style(rng, f"e{i}")) for i in range(4)]
    same = [compare_fingerprints(a, b).score for g in (mix, exc) for a in g for b in g if a is not b]
    diff = [compare_fingerprints(a, b).score for a in mix for b in exc]
    assert min(same) > max(diff)
    c = compare_fingerprints(mix[0], exc[0])
    assert {d["feature"] for d in c.disagree} >= {"mixers", "services"}
    assert all(d["reason"] for d in c.agree + c.disagree)
    assert "gas_premium" in c.unknown


def test_unknown_features_neither_agree_nor_disagree():
    a = Fingerprint("a", "library", dict.fromkeys(FEATURES) | {"mixers": {"sinbad"}})
    b = Fingerprint("b", "case", dict.fromkeys(FEATURES) | {"mixers": {"sinbad"}, "chains": {"ethereum"}})
    c = compare_fingerprints(a, b)
    assert c.score == 1.0 and [x["feature"] for x in c.agree] == ["mixers"] and c.disagree == []
    assert c.coverage == pytest.approx(FEATURES["mixers"].weight / sum(f.weight for f in FEATURES.values()), abs=1e-4)
    empty = compare_fingerprints(Fingerprint("x", "case", dict.fromkeys(FEATURES)), b)
    assert empty.score == 0.0 and empty.coverage == 0.0


def test_comparisons():
    assert compare(FEATURES["mixers"], {"a", "b"}, {"b", "c"})[0] == pytest.approx(1 / 3)
    assert lcs_ratio(["x", "y", "z"], ["x", "z"]) == pytest.approx(0.8)
    assert compare(FEATURES["typology_sequence"], ["a", "b"], ["b", "a"])[0] == pytest.approx(0.75)
    q = quantiles([1.0, 2.0, 3.0, 4.0, 5.0])
    assert q == [1.4, 2.0, 3.0, 4.0, 4.6] and quantiles([1.0]) is None
    assert compare(FEATURES["hop_timing"], q, q)[0] == 1.0
    assert compare(FEATURES["hop_timing"], q, [x + 2 for x in q])[0] < 0.05
    night = [10 if h in (1, 2, 3) else 0 for h in range(24)]
    day = [10 if h in (13, 14, 15) else 0 for h in range(24)]
    assert compare(FEATURES["working_hours"], night, night)[0] == pytest.approx(1.0)
    assert compare(FEATURES["working_hours"], night, day)[0] == pytest.approx(0.0)
    assert compare(FEATURES["round_amount_share"], 0.3, 0.5)[0] == pytest.approx(0.8)
    assert compare(FEATURES["dormancy_days"], 200, 200)[0] == 1.0
    assert compare(FEATURES["dormancy_days"], 200, 0.1)[0] < 0.05


def test_canonical_service_names():
    assert canonical_service("Binance 14") == "binance"
    assert canonical_service("KuCoin_Deposit_0x23aa") == "kucoin"
    assert canonical_service("Tornado.Cash: Router") == "tornado cash"
    assert canonical_service("Railgun: Relay") == "railgun"
    assert canonical_service("FixedFloat 2") == "fixedfloat"
    assert canonical_service("Gate.io 3") == "gate.io"
    assert canonical_service(None) is None


def test_calibration_fit():
    rng = random.Random(0)
    same = [min(1.0, rng.gauss(0.8, 0.08)) for _ in range(200)]
    diff = [max(0.0, rng.gauss(0.45, 0.1)) for _ in range(600)]
    cal = fit_calibration(same, diff, precision=0.9)
    assert cal["auc"] > 0.95
    assert 0.5 < cal["threshold"] < 0.8
    assert cal["p_same"] == sorted(cal["p_same"])  # isotonic
    assert confidence(0.95, cal) > 0.9 and confidence(0.3, cal) < 0.05
    assert confidence(0.5, None) is None
    with pytest.raises(ValueError):
        fit_calibration([0.5], [])


def test_ranking_and_verdict():
    from chainsleuth.attribute.attribution import judge, rank_candidates

    base = dict.fromkeys(FEATURES)
    target = Fingerprint("t", "case", base | {"mixers": {"sinbad"}, "chains": {"ethereum", "bitcoin"}, "services": {"sinbad"},
                                              "typology_sequence": ["fan_out", "mixer_use"]})
    close = Fingerprint("close", "library", base | {"mixers": {"sinbad"}, "chains": {"ethereum", "bitcoin"},
                                                    "services": {"sinbad"},
                                                    "typology_sequence": ["fan_out", "mixer_use"]})
    far = Fingerprint("far", "incident", base | {"mixers": {"tornado cash"}, "chains": {"tron"},
                                                 "typology_sequence": ["peel_chain", "cash_out"]})
    thin = Fingerprint("thin", "library", base | {"mixers": {"sinbad"}})
    ranked = rank_candidates(target, [far, close, thin, target], None)
    assert [c["name"] for c in ranked] == ["close", "thin", "far"]  # ties broken by coverage; self excluded
    assert ranked[0]["confidence"] is None  # no calibration given
    cal = fit_calibration([0.9, 0.95, 1.0], [0.1, 0.2, 0.5], precision=0.9)
    threshold, ok, verdict = judge(ranked, cal)
    assert ok and verdict.startswith("confident match: close") and threshold == cal["threshold"]
    _, ok, verdict = judge(rank_candidates(target, [far], cal), cal)
    assert not ok and "no confident match" in verdict and "< calibrated threshold" in verdict
    _, ok, verdict = judge(rank_candidates(target, [thin], cal), cal)
    assert not ok and "feature weight could be compared" in verdict
    assert judge([], cal)[1:] == (False, "nothing to compare with")
