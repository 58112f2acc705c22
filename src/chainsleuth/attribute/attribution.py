"""Attribute an incident or a case: compare its fingerprint with the known-incident library and with every
other incident and case in the database, and say how confident the best match is.

A subject (detected incident or declared case) is traced forward with :func:`chainsleuth.trace.trace` from
its attacker addresses (incidents: drain recipients and consolidation addresses, from the window start) or
its declared sources (cases, from ``since``); the typologies and fingerprint are computed over that flow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from chainsleuth.attribute.calibration import DEFAULT_THRESHOLD, MIN_COVERAGE, confidence, load_calibration
from chainsleuth.attribute.fingerprint import Fingerprint, compute_fingerprint
from chainsleuth.attribute.library import load_library
from chainsleuth.attribute.similarity import compare_fingerprints
from chainsleuth.detect.cases import get_case
from chainsleuth.detect.flow import flow_from_trace
from chainsleuth.detect.incidents import get_incident
from chainsleuth.errors import ChainsleuthError, NotFoundError


@dataclass(frozen=True)
class TraceSettings:
    """How subjects are traced for fingerprinting (forward, from the attacker side)."""

    model: str = "haircut"
    max_hops: int = 24
    min_value: float = 0.0


@dataclass
class Subject:
    name: str
    kind: str  # incident | case
    chain: str
    sources: list[str]
    after: datetime | None
    extra_typologies: list[str] = field(default_factory=list)


def subjects(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(name, kind) of every attributable subject: detected incidents and declared cases."""
    rows = con.execute(
        "SELECT incident_id, 'incident' FROM incidents UNION ALL SELECT name, 'case' FROM cases ORDER BY 2, 1"
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def resolve_subject(con: duckdb.DuckDBPyConnection, name: str) -> Subject:
    """The incident with id ``name`` or else the case named ``name``."""
    if name.upper().startswith("INC-"):
        inc = get_incident(con, name)
        attackers = [a["address"] for a in inc.attackers]
        return Subject(inc.incident_id, "incident", inc.chain, attackers, inc.window_start,
                       ["drain_wave"] if inc.kind == "drain-wave" else [])
    try:
        case = get_case(con, name)
    except NotFoundError:
        raise NotFoundError(f"no incident or case named {name!r}") from None
    return Subject(case.name, "case", case.chain, [s["address"] for s in case.sources], case.since)


def trace_subject(con: duckdb.DuckDBPyConnection, subject: Subject, settings: TraceSettings) -> Any:
    try:
        from chainsleuth.trace import trace
    except ImportError as exc:  # the tracing layer ships with chainsleuth; this guards broken installs
        raise ChainsleuthError(f"tracing is unavailable ({exc}); cannot fingerprint {subject.name}") from None
    return trace(
        con, subject.sources, subject.chain, after=subject.after, model=settings.model, direction="forward",
        max_hops=settings.max_hops, min_value=settings.min_value,
    )


def subject_fingerprint(
    con: duckdb.DuckDBPyConnection, name: str, settings: TraceSettings | None = None
) -> Fingerprint:
    """Trace ``name`` (incident id or case name) forward and fingerprint the flow."""
    subject = resolve_subject(con, name)
    result = trace_subject(con, subject, settings or TraceSettings())
    flow = flow_from_trace(result, con)
    return compute_fingerprint(subject.name, flow, kind=subject.kind, extra_typologies=subject.extra_typologies,
                               con=con)


def rank_candidates(target: Fingerprint, candidates: list[Fingerprint], cal: dict | None) -> list[dict]:
    """Every candidate scored against ``target``, best first, with agreeing and disagreeing features."""
    out = []
    for c in candidates:
        if c.subject == target.subject:
            continue
        cmp = compare_fingerprints(target, c)
        out.append(
            {
                "name": c.subject, "kind": c.kind, "title": c.title, "score": cmp.score,
                "confidence": confidence(cmp.score, cal) if cmp.coverage >= MIN_COVERAGE else None,
                "coverage": cmp.coverage, "agree": cmp.agree, "disagree": cmp.disagree, "unknown": cmp.unknown,
                "sources": c.sources,
            }
        )
    out.sort(key=lambda x: (-x["score"], -x["coverage"], x["name"]))
    return out


def judge(ranked: list[dict], cal: dict | None) -> tuple[float, bool, str]:
    """(threshold, confident?, verdict sentence) for the best of ``ranked``."""
    threshold = cal["threshold"] if cal and cal.get("threshold") is not None else DEFAULT_THRESHOLD
    best = ranked[0] if ranked else None
    if best is None:
        return threshold, False, "nothing to compare with"
    if best["score"] >= threshold and best["coverage"] >= MIN_COVERAGE:
        return threshold, True, (f"confident match: {best['name']} (score {best['score']:.2f} >= calibrated "
                                 f"threshold {threshold:.2f}, coverage {best['coverage']:.0%})")
    why = (f"score {best['score']:.2f} < calibrated threshold {threshold:.2f}" if best["score"] < threshold
           else f"only {best['coverage']:.0%} of the feature weight could be compared")
    return threshold, False, f"no confident match: best is {best['name']} but {why}"


def attribute(
    con: duckdb.DuckDBPyConnection,
    name: str,
    *,
    settings: TraceSettings | None = None,
    include_library: bool = True,
    include_database: bool = True,
) -> dict:
    """Rank the known-incident library and every other incident/case in the database against ``name``.

    Keys: case, kind, fingerprint, candidates[] {name, kind, title, score, confidence, coverage, agree[],
    disagree[], unknown[], sources[]} sorted by score descending, best, confident_match, verdict, calibration.
    """
    settings = settings or TraceSettings()
    target = subject_fingerprint(con, name, settings)
    candidates: list[Fingerprint] = load_library() if include_library else []
    if include_database:
        for other, _ in subjects(con):
            if other != target.subject:
                candidates.append(subject_fingerprint(con, other, settings))
    cal = load_calibration()
    ranked = rank_candidates(target, candidates, cal)
    threshold, confident, verdict = judge(ranked, cal)
    return {
        "case": target.subject,
        "kind": target.kind,
        "fingerprint": target.to_dict(),
        "candidates": ranked,
        "best": ranked[0]["name"] if ranked else None,
        "confident_match": confident,
        "verdict": verdict,
        "calibration": {
            "threshold": threshold,
            "min_coverage": MIN_COVERAGE,
            "fitted": cal is not None,
            **({k: cal[k] for k in ("auc", "same_pairs", "different_pairs", "worlds") if k in cal} if cal else {}),
        },
    }
