"""Accuracy on a simulated world with several incidents of each profile, from a seed never used while
developing (development used seeds 1-6): drain-wave detection recall and false incidents, attribution
top-1 same-profile rate, and whether the shipped calibration still separates same from different."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from chainsleuth.attribute.attribution import attribute, subject_fingerprint, subjects
from chainsleuth.attribute.calibration import fit_calibration, load_calibration, pair_scores, top1_rate
from chainsleuth.detect.incidents import detect_incidents

SEED = 917_263
INCIDENTS = "lazarus-like=2,exploiter=2,scammer=3"
BENCH = Path(__file__).resolve().parents[3] / "benchmarks" / "attribution.py"


def _harness():
    spec = importlib.util.spec_from_file_location("chainsleuth_bench_attribution", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    try:
        from chainsleuth.trace import trace  # noqa: F401
    except ImportError:
        pytest.skip("the tracing layer (chainsleuth.trace.trace) is not installed yet")
    h = _harness()
    work = tmp_path_factory.mktemp("sim")
    con, truth = h.build_world(SEED, INCIDENTS, work)
    found = detect_incidents(con)
    det = h.detection_figures(con, truth, found)
    profile = h.declare_cases(con, truth, work, det["matched"])
    yield con, truth, found, det, profile
    con.close()


@pytest.mark.slow
def test_drain_waves_found_with_victims_and_no_false_incident(world):
    _, _, _, det, _ = world
    assert det["drain_wave_incidents"] == 2
    assert det["found"] == det["drain_wave_incidents"]
    assert det["victim_recall"] >= 0.99
    assert det["false_incidents"] == 0


@pytest.mark.slow
def test_most_similar_other_incident_has_the_same_profile(world):
    con, _, _, _, profile = world
    fps = {name: subject_fingerprint(con, name) for name, _ in subjects(con)}
    assert set(fps) == set(profile)
    hits, total, details = top1_rate(fps, profile)
    assert total == 7
    assert hits / total >= 0.95, details
    same, diff = pair_scores(fps, profile)
    assert fit_calibration(same, diff)["auc"] >= 0.9
    cal = load_calibration()
    assert cal is not None and cal["threshold"] is not None
    # the shipped threshold, fitted on other seeds, keeps most different-profile pairs below it
    assert sum(s >= cal["threshold"] for s in diff) <= 0.1 * len(diff)


@pytest.mark.slow
def test_attribute_output_on_a_detected_incident(world):
    con, _, found, _, profile = world
    res = attribute(con, found[0].incident_id)
    assert res["case"] == found[0].incident_id
    others = [c for c in res["candidates"] if c["kind"] != "library"]
    assert {c["name"] for c in others} == set(profile) - {found[0].incident_id}
    assert profile[others[0]["name"]] == "lazarus-like"
    assert [c["score"] for c in res["candidates"]] == sorted((c["score"] for c in res["candidates"]), reverse=True)
    assert res["calibration"]["fitted"]
