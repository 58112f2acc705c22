"""Score how alike two fingerprints are, feature by feature, with the reasons.

score = sum_f w_f * sim_f / sum_f w_f over the features known on both sides (see
:mod:`chainsleuth.attribute.features` for each comparison). ``coverage`` is the share of the total feature
weight that could be compared: a high score on little coverage is weak evidence, which the calibrated
confidence (:mod:`chainsleuth.attribute.calibration`) accounts for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chainsleuth.attribute.features import AGREE_AT, FEATURES, compare
from chainsleuth.attribute.fingerprint import Fingerprint


@dataclass
class Comparison:
    score: float
    coverage: float
    agree: list[dict] = field(default_factory=list)  # {feature, similarity, weight, reason}
    disagree: list[dict] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def compare_fingerprints(a: Fingerprint, b: Fingerprint) -> Comparison:
    """Per-feature similarity of ``a`` and ``b`` and their weighted mean."""
    total_w = sum(f.weight for f in FEATURES.values())
    num = den = 0.0
    agree, disagree, unknown = [], [], []
    for name, feat in FEATURES.items():
        va, vb = a.features.get(name), b.features.get(name)
        if va is None or vb is None:
            unknown.append(name)
            continue
        sim, reason = compare(feat, va, vb)
        num += feat.weight * sim
        den += feat.weight
        item = {"feature": name, "similarity": round(sim, 4), "weight": feat.weight, "reason": reason}
        (agree if sim >= AGREE_AT else disagree).append(item)
    score = num / den if den else 0.0
    agree.sort(key=lambda x: -x["similarity"] * x["weight"])
    disagree.sort(key=lambda x: x["similarity"] * x["weight"] - x["weight"])
    return Comparison(round(score, 4), round(den / total_w, 4), agree, disagree, unknown)
