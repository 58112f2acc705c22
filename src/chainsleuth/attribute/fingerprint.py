"""Incident fingerprints: the explicit, named features (see :mod:`chainsleuth.attribute.features`) of how
a theft's proceeds were laundered, computed from the traced flow and its typologies.

Why these features: public attributions compare exactly these traits. The FBI and Elliptic tied Harmony
(2022) to Ronin through the same route (DEX swaps to ETH, programmatic Tornado Cash deposits) and tied
Atomic Wallet (2023) to Harmony through the same mixer (Sinbad) and laundering sequence; Lazarus
activity is also known to follow Korean working hours (Chainalysis, "Crypto Crime Report", 2022-2023).
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from chainsleuth.attribute.features import FEATURES, quantiles
from chainsleuth.detect.flow import VALUATION_ONLY_ASSETS, Flow
from chainsleuth.detect.typologies import Typology, detect_typologies, hold_times

#: Service names that appear under many labels; matched as substrings of the lower-cased label.
_ALIASES = [
    ("tornado", "tornado cash"), ("railgun", "railgun"), ("sinbad", "sinbad"), ("blender", "blender"),
    ("wasabi", "wasabi"), ("samourai", "samourai"), ("chipmixer", "chipmixer"), ("binance", "binance"),
    ("huobi", "huobi"), ("htx", "huobi"), ("okx", "okx"), ("okex", "okx"), ("kucoin", "kucoin"),
    ("garantex", "garantex"), ("ftx", "ftx"), ("crypto.com", "crypto.com"), ("coinbase", "coinbase"),
    ("kraken", "kraken"), ("bitfinex", "bitfinex"), ("renbridge", "renbridge"), ("ren bridge", "renbridge"),
    ("avalanche bridge", "avalanche bridge"), ("uniswap", "uniswap"), ("1inch", "1inch"),
    ("sushiswap", "sushiswap"), ("curve", "curve"), ("thorchain", "thorchain"), ("fixedfloat", "fixedfloat"),
]

_SERVICE_CATEGORIES = {"exchange", "hot_wallet", "deposit", "otc", "mixer", "coinjoin", "bridge", "dex"}


def canonical_service(name: str | None) -> str | None:
    """One name per service: 'Binance 14', 'binance_deposit_0x23' -> 'binance'; 'Tornado.Cash: Router' ->
    'tornado cash'. Unknown names keep their first word, lower-cased, without trailing numbers or ids."""
    if not name:
        return None
    low = name.lower().strip()
    for needle, canon in _ALIASES:
        if needle in low:
            return canon
    words = [w for w in re.split(r"[\s_:/()\-]+", low) if w]
    words = [w for w in words if not re.fullmatch(r"(0x)?[0-9a-f]{4,}|\d+", w)]
    return words[0] if words else None


@dataclass
class Fingerprint:
    """A subject's features (``None`` = unknown), with where each value came from."""

    subject: str
    kind: str  # incident | case | library
    features: dict[str, Any]
    title: str | None = None
    provenance: dict[str, str] = field(default_factory=dict)  # feature -> how it was obtained / source
    sources: list[dict] = field(default_factory=list)  # library: the public analyses
    typologies: list[dict] = field(default_factory=list)  # computed subjects: detector results

    def known(self) -> list[str]:
        return [k for k, v in self.features.items() if v is not None]

    def to_dict(self) -> dict:
        feats = {k: (sorted(v) if isinstance(v, set | frozenset) else v) for k, v in self.features.items()}
        return {
            "subject": self.subject, "kind": self.kind, "title": self.title, "features": feats,
            "provenance": self.provenance, "sources": self.sources, "typologies": self.typologies,
        }


def _median(xs: list[float]) -> float | None:
    return float(statistics.median(xs)) if xs else None


def gas_premium(con: duckdb.DuckDBPyConnection, flow: Flow) -> float | None:
    """Median over the flow's transactions of log10(1 + gas_price / median gas price of the same block),
    i.e. whether the launderers overpay for speed (scripts bidding high) or pay the going rate (~0.30)."""
    keys = sorted({(e.chain, e.tx_hash) for e in flow.edges})
    if not keys:
        return None
    con.register("_fp_txs", pa.table({"chain": [k[0] for k in keys], "hash": [k[1] for k in keys]}))
    try:
        row = con.execute(
            """WITH mine AS (
                   SELECT t.chain, t.block_number, t.gas_price FROM transactions t
                   JOIN _fp_txs USING (chain, hash) WHERE t.gas_price > 0),
               blk AS (
                   SELECT t.chain, t.block_number, median(CAST(t.gas_price AS DOUBLE)) AS med
                   FROM transactions t JOIN (SELECT DISTINCT chain, block_number FROM mine) b
                   USING (chain, block_number) WHERE t.gas_price > 0 GROUP BY ALL)
               SELECT median(log10(1 + CAST(m.gas_price AS DOUBLE) / blk.med)), count(*)
               FROM mine m JOIN blk USING (chain, block_number)"""
        ).fetchall()[0]
    finally:
        con.unregister("_fp_txs")
    if row is None or row[0] is None or row[1] < 3:
        return None
    return round(float(row[0]), 4)


def compute_fingerprint(
    subject: str,
    flow: Flow,
    *,
    kind: str = "case",
    extra_typologies: list[str] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    typologies: list[Typology] | None = None,
) -> Fingerprint:
    """Fingerprint of a traced flow. ``extra_typologies`` are incident-level patterns found before tracing
    (``drain_wave``), placed first in the sequence; ``con`` enables the gas feature."""
    typs = typologies if typologies is not None else detect_typologies(flow)
    found = [t for t in typs if t.detected]
    order = {n: i for i, n in enumerate(t.name for t in typs)}
    found.sort(key=lambda t: (t.first_hop if t.first_hop is not None else 10**6, order[t.name]))
    sequence = list(extra_typologies or []) + [t.name for t in found]
    by_name = {t.name: t for t in typs}

    services: set[str] = set()
    categories: set[str] = set()
    for x in flow.exits:
        if (x.category or "") in _SERVICE_CATEGORIES and (c := canonical_service(x.entity or x.label)):
            services.add(c)
            categories.add(x.category)
    for e in flow.edges:
        lab = flow.label(e.chain, e.dst)
        if lab and (lab.get("category") or "") in _SERVICE_CATEGORIES:
            c = canonical_service(lab.get("entity") or lab.get("actor") or lab.get("label"))
            if c:
                services.add(c)
                categories.add(lab["category"])
    mix = by_name["mixer_use"]
    mixers = {canonical_service(m["mixer"]) or m["mixer"] for m in mix.measures["mixers"]}
    mixers.discard("unlabelled")
    if mix.detected:
        categories.add("mixer")
    denominations = set(mix.measures["denominations"]) if mix.detected and mix.measures["denominations"] else None

    transfers = [e for e in flow.edges if e.kind == "transfer"]
    holds = [math.log10(1.0 + s) for s, _, _ in hold_times(flow)]
    usd_sizes = [math.log10(e.usd) for e in transfers if e.usd and e.usd > 0]
    degree: dict[tuple[str, str], set[str]] = defaultdict(set)
    for e in transfers:
        degree[(e.chain, e.src)].add(e.dst)
    hours = Counter(e.time.hour for e in flow.edges if e.time is not None)
    times = sorted(e.time for e in flow.edges if e.time is not None)
    exit_hops = [x.hop for x in flow.exits if x.hop is not None and (x.category or "") in _SERVICE_CATEGORIES]
    rnd = by_name["round_amounts"].measures
    features: dict[str, Any] = {
        "typology_sequence": sequence,
        "services": services,
        "service_categories": categories,
        "mixers": mixers,
        "mixer_denominations": denominations,
        "assets": {flow.symbol(e.chain, e.asset) for e in flow.edges if e.asset not in VALUATION_ONLY_ASSETS}
        or None,
        "chains": {e.chain for e in flow.edges} or None,
        "hop_timing": quantiles(holds),
        "split_sizes": quantiles(usd_sizes),
        "fan_out_degree": _median([float(len(v)) for v in degree.values()]),
        "round_amount_share": rnd["share"] if rnd["transfers"] >= 5 else None,
        "working_hours": [hours.get(h, 0) for h in range(24)] if sum(hours.values()) >= 5 else None,
        "gas_premium": gas_premium(con, flow) if con is not None else None,
        "hops_to_exit": _median([float(h) for h in exit_hops]),
        "dormancy_days": by_name["dormancy"].measures["max_days"] if holds else None,
        "laundering_days": round((times[-1] - times[0]).total_seconds() / 86400, 3) if len(times) >= 2 else None,
    }
    assert set(features) == set(FEATURES), "every named feature must be computed"
    return Fingerprint(
        subject=subject, kind=kind, features=features,
        provenance={k: "computed from the traced flow" for k, v in features.items() if v is not None},
        typologies=[t.to_dict() for t in typs],
    )
