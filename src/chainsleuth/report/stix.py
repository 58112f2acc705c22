"""Export of a case to STIX 2.1 (OASIS, "STIX Version 2.1", 2021) for threat-intelligence platforms.

The bundle holds: the producer ``identity``; one ``indicator`` per attacker address (pattern on a
``cryptocurrency-wallet`` observable, the address type used by the OASIS CTI cryptocurrency extension drafts
and MISP), each with the transactions that justify it; a ``campaign`` for the theft; a ``threat-actor`` for
the attributed actor (if any) with ``indicates`` and ``attributed-to`` relationships; and a ``report`` that
references everything. Ids are UUIDv5 of stable keys, so exporting the same case twice gives the same ids
and a platform updates rather than duplicates.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

NAMESPACE = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")  # RFC 4122 URL namespace
PRODUCER = "chainsleuth"


def _id(kind: str, key: str) -> str:
    return f"{kind}--{uuid.uuid5(NAMESPACE, f'chainsleuth/{kind}/{key}')}"


def _ts(value: Any) -> str:
    if value is None:
        dt = datetime.now(UTC)
    elif isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=UTC)
    else:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        dt = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _actor(attribution: dict[str, Any] | None) -> tuple[str, float | None] | None:
    """(actor name, confidence) of a *confident* attribution (``chainsleuth.attribute.attribute`` output)."""
    if not attribution or not attribution.get("confident_match") or not attribution.get("best"):
        return None
    for cand in attribution.get("candidates") or []:
        if cand.get("name") == attribution["best"]:
            return cand.get("actor") or cand.get("title") or cand["name"], cand.get("confidence")
    return attribution["best"], None


def to_stix(content: dict[str, Any]) -> dict[str, Any]:
    """A STIX 2.1 bundle (dict) for the report ``content``."""
    subject = content["subject"]
    case_key = f"{subject.get('kind')}/{subject.get('id') or content['title']}"
    now = _ts(content["generated_at"])
    identity_id = _id("identity", PRODUCER)
    objects: list[dict[str, Any]] = [{
        "type": "identity", "spec_version": "2.1", "id": identity_id, "created": _ts("2024-01-01T00:00:00Z"),
        "modified": _ts("2024-01-01T00:00:00Z"), "name": PRODUCER, "identity_class": "system",
        "description": "chainsleuth blockchain forensics toolkit",
    }]
    common = {"spec_version": "2.1", "created": now, "modified": now, "created_by_ref": identity_id}
    incident = content.get("incident") or {}
    first_seen = (incident.get("window") or {}).get("start") or min(
        (e["time"] for e in content["edges"] if e.get("time")), default=None)
    campaign_id = _id("campaign", case_key)
    objects.append({
        "type": "campaign", "id": campaign_id, **common, "name": content["title"],
        "description": _summary_text(content), "first_seen": _ts(first_seen) if first_seen else now,
    })
    evidence: dict[str, list[str]] = {}
    for e in content["edges"]:
        if e.get("from"):
            evidence.setdefault(e["from"], []).append(e["tx_hash"])
    for a in incident.get("attackers", []):
        evidence.setdefault(a["address"], []).extend(a.get("tx_hashes") or [])
    chain = subject.get("chain") or (content["edges"][0]["chain"] if content["edges"] else None)
    indicator_ids = []
    for addr in content.get("attackers") or []:
        iid = _id("indicator", f"{chain}/{addr}")
        indicator_ids.append(iid)
        txs = sorted(dict.fromkeys(evidence.get(addr, [])))[:20]
        objects.append({
            "type": "indicator", "id": iid, **common, "name": f"Attacker address {addr} ({chain})",
            "description": f"Address that received or moved stolen funds in {content['title']}. "
                           f"Evidence transactions: {', '.join(txs) if txs else 'see report'}.",
            "indicator_types": ["malicious-activity"], "pattern_type": "stix",
            "pattern": f"[cryptocurrency-wallet:address = '{addr}']",
            "valid_from": _ts(first_seen) if first_seen else now,
            "labels": [f"chain:{chain}", "theft"],
        })
        objects.append(_rel("indicates", iid, campaign_id, common))
    actor = _actor(content.get("attribution"))
    if actor and actor[0]:
        name, confidence = actor
        actor_id = _id("threat-actor", name)
        objects.append({"type": "threat-actor", "id": actor_id, **common, "name": name,
                        "threat_actor_types": ["crime-syndicate"]})
        rel = _rel("attributed-to", campaign_id, actor_id, common)
        if isinstance(confidence, int | float):
            rel["confidence"] = int(round(confidence * 100)) if confidence <= 1 else int(confidence)
        objects.append(rel)
        objects.extend(_rel("indicates", iid, actor_id, common) for iid in indicator_ids)
    objects.append({
        "type": "report", "id": _id("report", case_key), **common, "name": content["title"],
        "description": _summary_text(content), "report_types": ["campaign", "indicator"],
        "published": now, "object_refs": [o["id"] for o in objects if o["type"] != "identity"] or [campaign_id],
    })
    return {"type": "bundle", "id": _id("bundle", case_key + "/" + now), "objects": objects}


def _rel(kind: str, src: str, dst: str, common: dict[str, Any]) -> dict[str, Any]:
    return {"type": "relationship", "id": _id("relationship", f"{kind}/{src}/{dst}"), **common,
            "relationship_type": kind, "source_ref": src, "target_ref": dst}


def _summary_text(content: dict[str, Any]) -> str:
    s = content["summary"]

    def usd(v: float | None) -> str:
        return "n/a" if v is None else f"${v:,.0f}"

    return (f"Stolen {usd(s['stolen']['usd'])}; traced {usd(s['traced']['usd'])}; at exchanges "
            f"{usd(s['at_exchanges']['usd'])} ({s['exchanges']} exchanges); in mixers {usd(s['in_mixers']['usd'])}; "
            f"unresolved {usd(s['unresolved']['usd'])}.")
