"""Address screening: how much of what an address received comes from incidents, sanctioned entities and
mixers, directly or within N hops, and the risk level that follows.

The shares are haircut taint (Möser, Böhme & Breuker, "Towards Risk Scoring of Bitcoin Transactions",
FC 2014 workshops), propagated forward from the risky sources flow by flow: a payment carries the share of
its sender's inflow *up to that payment* that came from a source, so later deposits never explain earlier
payments; exchanges and other pooling services pass nothing on. Hop 1 is direct exposure, hops 2..N
indirect. :mod:`chainsleuth.screen.propagate` gives the definition and the set-based computation, which is
the same for a few addresses (:func:`screen`) and for a whole chain (:func:`screen_chain`).

Shares are fractions of value in USD when prices are stored, else in the chain's native unit. Every
exposure keeps its evidence: the risky source, and the flows the screened address received that carry its
taint (tx hash, sender, exact amount, value and tainted value), largest first."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from chainsleuth.errors import ChainsleuthError
from chainsleuth.model import normalize_address
from chainsleuth.screen.flows import Basis, chain_model, flows_sql, pick_basis
from chainsleuth.screen.labels import RISK_TYPES, load_labels
from chainsleuth.screen.propagate import propagate

LEVELS = ("low", "medium", "high", "severe")
MAX_HOPS = 10


@dataclass(frozen=True)
class RiskPolicy:
    """Thresholds (shares of received value) that map exposure to a risk level."""

    severe_direct: float = 0.10  # direct incident or sanctioned exposure at or above this: severe
    high_direct: float = 0.0  # any direct incident/sanctioned exposure above this: high
    high_indirect: float = 0.10  # indirect incident/sanctioned exposure at or above this: high
    high_mixer: float = 0.25  # direct mixer exposure at or above this: high
    medium_any: float = 0.01  # any exposure (mixers, indirect) at or above this: medium
    min_weight: float = 1e-6  # payments carrying less than this share of a source are not followed


@dataclass
class ScreenResult:
    """The screening of one address; ``to_dict()`` is the stable JSON form (documented in docs/api.md)."""

    chain: str
    address: str
    label: dict[str, Any] | None
    basis: str
    hops: int
    as_of: datetime | None
    received_value: float
    received_transfers: int
    exposure: dict[str, dict[str, float]]
    sources: list[dict[str, Any]]
    level: str
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "address": self.address,
            "label": self.label,
            "risk": {"level": self.level, "reasons": self.reasons},
            "basis": self.basis,
            "hops": self.hops,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "received": {"value": self.received_value, "transfers": self.received_transfers},
            "exposure": self.exposure,
            "sources": self.sources,
        }


def screen(
    con: duckdb.DuckDBPyConnection,
    addresses: list[str],
    chain: str,
    *,
    hops: int = 3,
    as_of: datetime | None = None,
    basis: str = "auto",
    policy: RiskPolicy | None = None,
    max_sources: int = 20,
    evidence_per_source: int = 5,
) -> list[ScreenResult]:
    """Screen ``addresses`` on ``chain`` (results in input order; duplicates screened once)."""
    if not addresses:
        raise ChainsleuthError("no address to screen")
    return _screen(con, chain, addresses, hops, as_of, basis, policy, max_sources, evidence_per_source)


def screen_chain(
    con: duckdb.DuckDBPyConnection,
    chain: str,
    *,
    hops: int = 3,
    as_of: datetime | None = None,
    basis: str = "auto",
    policy: RiskPolicy | None = None,
    max_sources: int = 20,
    evidence_per_source: int = 5,
) -> list[ScreenResult]:
    """Screen every address of ``chain`` that received value (``screen --all``), ordered by address; each
    result equals :func:`screen` of that address."""
    return _screen(con, chain, None, hops, as_of, basis, policy, max_sources, evidence_per_source)


def prepare(
    con: duckdb.DuckDBPyConnection, chain: str, hops: int, basis: str, policy: RiskPolicy | None
) -> tuple[RiskPolicy, str, str, Basis]:
    """(policy, model, native asset, basis) of a screening of ``chain``, after checking ``hops``; shared by
    both engines."""
    if not 1 <= hops <= MAX_HOPS:
        raise ChainsleuthError(f"hops must be between 1 and {MAX_HOPS}, got {hops}")
    model, native = chain_model(con, chain)
    return policy or RiskPolicy(), model, native, pick_basis(con, chain, basis)


def _screen(
    con: duckdb.DuckDBPyConnection, chain: str, addresses: list[str] | None, hops: int, as_of: datetime | None,
    basis: str, policy: RiskPolicy | None, max_sources: int, evidence_per_source: int,
) -> list[ScreenResult]:
    """``addresses`` (on their backward cone) or, if None, every receiving address (on the whole chain)."""
    policy, model, native, used_basis = prepare(con, chain, hops, basis, policy)
    cur = con.cursor()  # temp tables live per connection: concurrent screens never see each other's
    try:
        load_labels(cur, chain, "_scr_labels")
        if addresses is not None:
            targets = list(dict.fromkeys(normalize_address(a, chain) for a in addresses))
            cur.execute("CREATE OR REPLACE TEMP TABLE _scr_targets AS SELECT DISTINCT unnest(?::VARCHAR[]) AS target",
                        [targets])
        propagate(cur, flows_sql(model, used_basis), {"chain": chain, "native": native, "as_of": as_of}, hops=hops,
                  min_weight=policy.min_weight, evidence_per_source=evidence_per_source,
                  whole_chain=addresses is None)
        if addresses is None:
            targets = [r[0] for r in cur.execute("SELECT target FROM _scr_targets ORDER BY 1").fetchall()]
        return collect_results(cur, chain, targets, used_basis, hops, as_of, policy, max_sources)
    finally:
        cur.close()


def collect_results(
    cur: duckdb.DuckDBPyConnection,
    chain: str,
    targets: list[str],
    basis: str,
    hops: int,
    as_of: datetime | None,
    policy: RiskPolicy,
    max_sources: int,
) -> list[ScreenResult]:
    import json

    own = {
        r[0]: {"label": r[1], "category": r[2], "actor": r[3], "entity": r[4], "via": r[5], "risk_type": r[6]}
        for r in cur.execute(
            "SELECT l.address, label, category, actor, entity, via, risk_type FROM _scr_labels l "
            "SEMI JOIN _scr_targets t ON t.target = l.address"
        ).fetchall()
    }
    received = {r[0]: (r[1] or 0.0, r[2] or 0) for r in cur.execute("SELECT * FROM _scr_received").fetchall()}
    shares: dict[str, dict[str, dict[str, float]]] = {}
    for target, risk_type, direct, indirect in cur.execute(
        "SELECT target, risk_type, sum(w) FILTER (hop = 1), sum(w) FILTER (hop > 1) FROM _scr_exposure GROUP BY 1, 2"
    ).fetchall():
        shares.setdefault(target, {})[risk_type] = {"direct": direct or 0.0, "indirect": indirect or 0.0}
    sources: dict[str, list[dict[str, Any]]] = {}
    for row in cur.execute(
        """
        SELECT e.target, e.src, l.label, l.category, l.entity, l.actor, e.risk_type, e.hop, e.via, e.w, e.value,
               e.n_tx, e.evidence
        FROM _scr_exposure e JOIN _scr_labels l ON l.address = e.src
        QUALIFY row_number() OVER (PARTITION BY e.target ORDER BY e.w DESC, e.src, e.hop) <= ?
        ORDER BY e.target, e.w DESC, e.src, e.hop
        """,
        [max_sources],
    ).fetchall():
        target, src, label, category, entity, actor, risk_type, hop, via, w, value, n_tx, evidence = row
        sources.setdefault(target, []).append(
            {
                "address": src, "label": label, "category": category, "entity": entity, "actor": actor,
                "risk_type": risk_type, "hop": hop, "direct": hop == 1, "via": via, "share": w,
                "value": value, "transfers": n_tx, "evidence": json.loads(evidence),
            }
        )
    results = []
    for t in targets:
        value_in, n_in = received.get(t, (0.0, 0))
        exp = {}
        for kind in RISK_TYPES:
            s = shares.get(t, {}).get(kind, {"direct": 0.0, "indirect": 0.0})
            total = s["direct"] + s["indirect"]
            exp[kind] = {
                "direct": s["direct"], "indirect": s["indirect"], "total": total,
                "direct_value": s["direct"] * value_in, "indirect_value": s["indirect"] * value_in,
            }
        level, reasons = risk_level(own.get(t), exp, sources.get(t, []), policy, basis)
        results.append(
            ScreenResult(
                chain=chain, address=t, label=own.get(t), basis=basis, hops=hops, as_of=as_of,
                received_value=value_in, received_transfers=n_in, exposure=exp, sources=sources.get(t, []),
                level=level, reasons=reasons,
            )
        )
    return results


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%" if x >= 0.0001 else f"{100 * x:.2g}%"


def risk_level(
    own: dict[str, Any] | None,
    exposure: dict[str, dict[str, float]],
    sources: list[dict[str, Any]],
    policy: RiskPolicy,
    basis: str,
) -> tuple[str, list[str]]:
    """The risk level and a human reason (with tx evidence) for every rule that fired, most severe first."""
    findings: list[tuple[int, str]] = []

    def example(kind: str, direct: bool) -> str:
        for s in sources:
            if s["risk_type"] == kind and s["direct"] == direct and s["evidence"]:
                who = s["label"] or s["address"]
                return f" (largest: {who} {s['address']}, tx {s['evidence'][0]['tx_hash']})"
        return ""

    if own and own.get("risk_type"):
        findings.append((3, f"the address itself is labelled {own['category']}: {own['label']} (via {own['via']})"))
    for kind in ("sanctioned", "incident"):
        d, i = exposure[kind]["direct"], exposure[kind]["indirect"]
        if d >= policy.severe_direct:
            findings.append((3, f"direct {kind} exposure {_pct(d)} of received value{example(kind, True)}"))
        elif d > policy.high_direct:
            findings.append((2, f"direct {kind} exposure {_pct(d)} of received value{example(kind, True)}"))
        if i >= policy.high_indirect:
            findings.append((2, f"indirect {kind} exposure {_pct(i)} of received value{example(kind, False)}"))
        elif i >= policy.medium_any:
            findings.append((1, f"indirect {kind} exposure {_pct(i)} of received value{example(kind, False)}"))
    d, i = exposure["mixer"]["direct"], exposure["mixer"]["indirect"]
    if d >= policy.high_mixer:
        findings.append((2, f"direct mixer exposure {_pct(d)} of received value{example('mixer', True)}"))
    elif d >= policy.medium_any:
        findings.append((1, f"direct mixer exposure {_pct(d)} of received value{example('mixer', True)}"))
    if i >= policy.medium_any:
        findings.append((1, f"indirect mixer exposure {_pct(i)} of received value{example('mixer', False)}"))
    if not findings:
        total = sum(e["total"] for e in exposure.values())
        msg = f"no exposure above {_pct(policy.medium_any)}" + (f" (total {_pct(total)})" if total else "")
        return "low", [msg + f"; shares in {basis} value"]
    findings.sort(key=lambda f: -f[0])
    return LEVELS[findings[0][0]], [f[1] for f in findings]
