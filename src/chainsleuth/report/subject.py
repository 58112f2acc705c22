"""What a report is about: a detected incident (``INC-...``), a declared case (by name), or a saved trace
(a JSON file of ``TraceResult.to_dict()``). Resolving one gathers the trace and the incident, victims,
typologies and attribution that go with it, by calling the analysis packages."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb

from chainsleuth.errors import ChainsleuthError, InputError, NotFoundError
from chainsleuth.report.content import build_report

DEFAULT_TRACE = {"model": "haircut", "max_hops": 12}


def run_trace(con: duckdb.DuckDBPyConnection, sources: list[str], chain: str, **options: Any) -> dict[str, Any]:
    """``chainsleuth.trace.trace(...).to_dict()``."""
    from chainsleuth.trace import trace

    return trace(con, sources, chain, **options).to_dict()


def typologies_of(con: duckdb.DuckDBPyConnection, trace: dict[str, Any]) -> list[dict[str, Any]]:
    from chainsleuth.detect.flow import flow_from_trace
    from chainsleuth.detect.typologies import detect_typologies

    return [t.to_dict() for t in detect_typologies(flow_from_trace(trace, con))]


def attribution_of(con: duckdb.DuckDBPyConnection, subject_id: str, trace: dict[str, Any]) -> dict[str, Any] | None:
    """The attribution of an incident or case, where ``chainsleuth.attribute`` provides one."""
    try:
        from chainsleuth import attribute
    except ImportError:
        return None
    fn = getattr(attribute, "attribute", None)
    if fn is None:
        return None
    try:
        result = fn(con, subject_id)
    except (ChainsleuthError, TypeError):
        return None
    return result.to_dict() if hasattr(result, "to_dict") else result


def resolve(
    con: duckdb.DuckDBPyConnection, subject: str, *, trace_options: dict[str, Any] | None = None,
    title: str | None = None,
) -> dict[str, Any]:
    """The report content for ``subject`` (incident id, case name, or trace JSON file)."""
    opts = {**DEFAULT_TRACE, **(trace_options or {})}
    path = Path(subject)
    if subject.endswith(".json") or path.is_file():
        if not path.is_file():
            raise InputError(subject, None, "no such trace file")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(subject, exc.lineno, f"not JSON: {exc.msg}") from None
        if not isinstance(data, dict) or not {"sources", "exits", "edges"} <= data.keys():
            raise InputError(subject, None, "not a trace: expected the keys sources, exits, edges "
                                            "(`chainsleuth trace ... --format json`)")
        chain = next((e["chain"] for e in data["edges"]), None)
        return build_report(con, data, title=title, typologies=typologies_of(con, data),
                            subject={"kind": "trace", "id": path.name, "chain": chain})
    if subject.upper().startswith("INC-"):
        from chainsleuth.detect.incidents import get_incident

        inc = get_incident(con, subject)
        sources = [a["address"] for a in inc.attackers if a["role"] == "recipient"] or [
            a["address"] for a in inc.attackers]
        after = inc.window_start - timedelta(seconds=1)
        trace = run_trace(con, sources, inc.chain, after=after, **opts)
        return build_report(
            con, trace, title=title, incident=inc.to_dict(), typologies=typologies_of(con, trace),
            attribution=attribution_of(con, inc.incident_id, trace),
            attackers=[a["address"] for a in inc.attackers],
            subject={"kind": "incident", "id": inc.incident_id, "chain": inc.chain},
        )
    from chainsleuth.detect.cases import get_case

    try:
        case = get_case(con, subject)
    except NotFoundError:
        raise NotFoundError(
            f"{subject!r} is not an incident id (INC-...), a case name, or a trace JSON file") from None
    attackers = [s["address"] for s in case.sources if s["role"] == "attacker"]
    victims = [s["address"] for s in case.sources if s["role"] == "victim"]
    sources = attackers or victims or [s["address"] for s in case.sources]
    trace = run_trace(con, sources, case.chain, after=case.since, **opts)
    return build_report(
        con, trace, title=title, typologies=typologies_of(con, trace),
        attribution=attribution_of(con, case.name, trace), attackers=attackers or None,
        subject={"kind": "case", "id": case.name, "chain": case.chain},
    )
