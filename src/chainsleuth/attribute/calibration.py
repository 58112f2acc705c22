"""Calibrating similarity scores: what does a score of 0.7 mean?

On simulated worlds with several incidents per laundering profile, every pair of incidents is scored;
pairs of the same profile are positives, the rest negatives. The fit is isotonic (pool-adjacent-violators;
Barlow et al., *Statistical Inference under Order Restrictions*, 1972; Zadrozny & Elkan, KDD 2002), giving
P(same profile | score), and the *confidence threshold* is the lowest score whose calibrated
P(same profile) reaches ``precision`` (0.9). ``data/calibration.json`` holds the shipped fit and its figures.
"""

from __future__ import annotations

import bisect
import json
from importlib import resources
from itertools import combinations
from typing import Any

from chainsleuth.attribute.fingerprint import Fingerprint
from chainsleuth.attribute.similarity import compare_fingerprints

#: Used when no calibration file ships (documented; replaced by the fitted threshold when present).
DEFAULT_THRESHOLD = 0.75
MIN_COVERAGE = 0.3


def pair_scores(fps: dict[str, Fingerprint], profile_of: dict[str, str]) -> tuple[list[float], list[float]]:
    """Scores of every unordered pair of labelled subjects: (same-profile scores, different-profile scores)."""
    same, diff = [], []
    names = sorted(n for n in fps if n in profile_of)
    for a, b in combinations(names, 2):
        s = compare_fingerprints(fps[a], fps[b]).score
        (same if profile_of[a] == profile_of[b] else diff).append(s)
    return same, diff


def top1_rate(fps: dict[str, Fingerprint], profile_of: dict[str, str]) -> tuple[int, int, list[dict]]:
    """For each subject, is its most similar other subject of the same profile? (hits, total, details)"""
    names = sorted(n for n in fps if n in profile_of)
    hits, details = 0, []
    for a in names:
        ranked = sorted(
            ((compare_fingerprints(fps[a], fps[b]).score, b) for b in names if b != a), key=lambda x: (-x[0], x[1])
        )
        if not ranked:
            continue
        score, best = ranked[0]
        ok = profile_of[best] == profile_of[a]
        hits += ok
        details.append({"subject": a, "profile": profile_of[a], "best": best, "best_profile": profile_of[best],
                        "score": score, "hit": ok})
    return hits, len(details), details


def _pav(ys: list[float]) -> list[float]:
    """Pool-adjacent-violators: the non-decreasing least-squares fit to ``ys``."""
    blocks: list[list[float]] = []  # [sum, count]
    for y in ys:
        blocks.append([y, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, c = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += c
    out: list[float] = []
    for s, c in blocks:
        out.extend([s / c] * int(c))
    return out


def fit_calibration(same: list[float], diff: list[float], *, precision: float = 0.9) -> dict[str, Any]:
    """Isotonic P(same | score) and the confidence threshold, with the figures that justify them."""
    pts = sorted([(s, 1.0) for s in same] + [(s, 0.0) for s in diff])
    if not same or not diff:
        raise ValueError("calibration needs both same-profile and different-profile pairs")
    fitted = _pav([y for _, y in pts])
    xs: list[float] = []
    ps: list[float] = []
    for (x, _), p in zip(pts, fitted, strict=True):
        if xs and x == xs[-1]:
            ps[-1] = p
        else:
            xs.append(x)
            ps.append(p)
    # the lowest score whose calibrated P(same) reaches the target: a match at or above it is the same
    # profile with at least that probability (local, not cumulative, precision: conservative)
    threshold = next((x for x, p in zip(xs, ps, strict=True) if p >= precision), None)
    above_same = sum(1 for s in same if threshold is not None and s >= threshold)
    # AUC: probability a same-profile pair outscores a different-profile one (Mann-Whitney U / n1 n2)
    ds = sorted(diff)
    wins = sum(bisect.bisect_left(ds, s) + 0.5 * (bisect.bisect_right(ds, s) - bisect.bisect_left(ds, s))
               for s in same)
    return {
        "scores": [round(x, 4) for x in xs],
        "p_same": [round(p, 4) for p in ps],
        "threshold": round(threshold, 4) if threshold is not None else None,
        "precision_target": precision,
        "recall_at_threshold": round(above_same / len(same), 4),
        "auc": round(wins / (len(same) * len(diff)), 4),
        "same_pairs": len(same),
        "different_pairs": len(diff),
        "same_mean": round(sum(same) / len(same), 4),
        "different_mean": round(sum(diff) / len(diff), 4),
        "min_coverage": MIN_COVERAGE,
    }


def load_calibration() -> dict[str, Any] | None:
    """The shipped calibration (``data/calibration.json``), or None when none has been fitted."""
    f = resources.files("chainsleuth.attribute") / "data" / "calibration.json"
    if not f.is_file():
        return None
    return json.loads(f.read_text(encoding="utf-8"))


def confidence(score: float, cal: dict[str, Any] | None) -> float | None:
    """P(same profile | score) from the isotonic fit (step function), or None without calibration."""
    if not cal or not cal.get("scores"):
        return None
    i = bisect.bisect_right(cal["scores"], score) - 1
    return cal["p_same"][max(i, 0)] if i >= 0 else 0.0
