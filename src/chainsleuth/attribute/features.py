"""The named features of an incident fingerprint and how two values of each are compared.

A fingerprint is not an opaque vector: every feature has a name, a kind that fixes its comparison, a
weight, and a sentence saying what it measures. Comparisons return a similarity in [0, 1] and a reason an
investigator can check. A feature whose value is unknown on either side (``None``) is skipped: it neither
agrees nor disagrees, which is how the shipped known-incident library records what public analyses do not
state.

Comparisons: Jaccard index for sets; for ordered typology sequences the mean of Jaccard and the
longest-common-subsequence ratio; for distributions given as quantiles the mean absolute quantile
difference (the 1-Wasserstein distance of the two distributions, approximated on their quantiles; Villani,
*Optimal Transport*, 2009) mapped through exp(-d/scale); for the 24-hour activity histogram one minus the
total-variation distance after a +-1 hour circular smoothing; for scalars exp(-|log ratio|/scale).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

#: Quantile levels of every profile feature.
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)

#: A feature agrees when its similarity reaches this; below it, it disagrees.
AGREE_AT = 0.5


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str  # set | sequence | quantiles | hours | log_scalar | fraction
    weight: float
    description: str
    scale: float = 1.0  # quantiles: log10 units; log_scalar: log10 units


FEATURES: dict[str, Feature] = {
    f.name: f
    for f in [
        Feature("typology_sequence", "sequence", 2.0,
                "laundering typologies detected, in the order (by hop) they first appear"),
        Feature("services", "set", 1.5,
                "services the funds met: exchanges, OTC desks, mixers, bridges, DEXes (canonical names)"),
        Feature("service_categories", "set", 1.0, "categories of those services"),
        Feature("mixers", "set", 1.5, "mixers used (empty set = none)"),
        Feature("mixer_denominations", "set", 0.5, "mixer deposit sizes in display units (only when mixed)"),
        Feature("assets", "set", 1.0, "asset symbols the tainted value was held in"),
        Feature("chains", "set", 0.75, "chains the tainted value touched"),
        Feature("hop_timing", "quantiles", 1.0,
                "seconds an intermediate address holds funds before forwarding (log10 quantiles)", 0.5),
        Feature("split_sizes", "quantiles", 1.0, "USD size of each tainted transfer (log10 quantiles)", 0.5),
        Feature("fan_out_degree", "log_scalar", 0.5, "median distinct recipients per sending address", 0.3),
        Feature("round_amount_share", "fraction", 0.5, "share of transfers in round amounts"),
        Feature("working_hours", "hours", 1.0, "UTC hour-of-day histogram of the launderers' transactions"),
        Feature("gas_premium", "log_scalar", 0.5,
                "median gas price paid relative to the block's median gas price (log10 ratio + 1)", 0.2),
        Feature("hops_to_exit", "log_scalar", 0.5, "median hops from the source to a cash-out exit", 0.3),
        Feature("dormancy_days", "log_scalar", 0.5, "longest time tainted funds sat still (days)", 0.5),
        Feature("laundering_days", "log_scalar", 0.5, "days from the first to the last traced move", 0.5),
    ]
}


def jaccard(a: set, b: set) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def lcs_ratio(a: list, b: list) -> float:
    """2 * |longest common subsequence| / (|a| + |b|): order-aware agreement of two sequences."""
    if not a and not b:
        return 1.0
    dp = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            dp[i + 1][j + 1] = dp[i][j] + 1 if x == y else max(dp[i][j + 1], dp[i + 1][j])
    return 2 * dp[-1][-1] / (len(a) + len(b))


def _smooth(hist: list[float]) -> list[float]:
    n = len(hist)
    s = [0.25 * hist[(i - 1) % n] + 0.5 * hist[i] + 0.25 * hist[(i + 1) % n] for i in range(n)]
    total = sum(s)
    return [x / total for x in s] if total else s


def _fmt_set(s: set) -> str:
    return ", ".join(sorted(map(str, s))) or "none"


def compare(feature: Feature, a: Any, b: Any) -> tuple[float, str]:
    """Similarity of two known values of ``feature`` and a reason in words."""
    k = feature.kind
    if k == "set":
        sa, sb = set(a), set(b)
        sim = jaccard(sa, sb)
        if sa == sb:
            return sim, f"both {_fmt_set(sa)}"
        return sim, f"shared {_fmt_set(sa & sb)}; only here {_fmt_set(sa - sb)}; only there {_fmt_set(sb - sa)}"
    if k == "sequence":
        la, lb = list(a), list(b)
        sim = 0.5 * jaccard(set(la), set(lb)) + 0.5 * lcs_ratio(la, lb)
        return sim, f"here {' > '.join(la) or 'none'}; there {' > '.join(lb) or 'none'}"
    if k == "quantiles":
        d = sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a)
        sim = math.exp(-d / feature.scale)
        return sim, f"median 10^{a[2]:.1f} vs 10^{b[2]:.1f}; mean quantile gap {d:.2f} (log10)"
    if k == "hours":
        ha, hb = _smooth([float(x) for x in a]), _smooth([float(x) for x in b])
        tv = 0.5 * sum(abs(x - y) for x, y in zip(ha, hb, strict=True))
        pa = max(range(24), key=lambda i: ha[i])
        pb = max(range(24), key=lambda i: hb[i])
        return 1.0 - tv, f"busiest hour {pa:02d}h vs {pb:02d}h UTC; overlap {1 - tv:.0%}"
    if k == "log_scalar":
        d = abs(math.log10(float(a) + 1.0) - math.log10(float(b) + 1.0))
        return math.exp(-d / feature.scale), f"{float(a):.3g} vs {float(b):.3g}"
    if k == "fraction":
        return 1.0 - abs(float(a) - float(b)), f"{float(a):.0%} vs {float(b):.0%}"
    raise ValueError(f"unknown feature kind {k!r}")


def quantiles(values: list[float]) -> list[float] | None:
    """The :data:`QUANTILES` of ``values`` (linear interpolation), or None with fewer than 3 values."""
    if len(values) < 3:
        return None
    v = sorted(values)
    out = []
    for q in QUANTILES:
        pos = q * (len(v) - 1)
        lo = math.floor(pos)
        hi = min(lo + 1, len(v) - 1)
        out.append(round(v[lo] + (v[hi] - v[lo]) * (pos - lo), 4))
    return out
