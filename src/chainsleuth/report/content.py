"""The content of a case report, assembled from a trace (``TraceResult.to_dict()``) and what the store knows.

One dict, rendered as HTML, JSON and CSV alike, so every output says the same. It holds the summary
(stolen, traced, at exchanges -- the part a freeze can still recover --, in mixers, unresolved), the flow
(Sankey of value by hop and category, main paths), typologies and attribution with their evidence, every
exit point with its transactions, freeze requests per exchange, the victim list, and the method (taint
model, thresholds, data ranges) so another analyst can reproduce it. No analysis happens here: the numbers
are sums of the tracer's exits, edges and resting balances, and the incident's recorded losses.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import duckdb

from chainsleuth.report.units import asset_units, format_amount
from chainsleuth.store.ledger import summary as store_summary

REPORT_VERSION = 1

#: Category groups the summary and the Sankey use, in display order.
GROUPS: dict[str, frozenset[str]] = {
    "exchange": frozenset({"exchange", "hot_wallet", "deposit", "otc"}),
    "mixer": frozenset({"mixer", "coinjoin"}),
    "bridge": frozenset({"bridge", "dex", "defi"}),
    "sanctioned": frozenset({"sanctioned"}),
}
GROUP_NAMES = {
    "source": "Sources", "intermediate": "Intermediate", "exchange": "Exchanges / OTC", "mixer": "Mixers",
    "bridge": "Bridges / DEX / DeFi", "sanctioned": "Sanctioned", "other": "Other services",
    "unresolved": "Unresolved (unlabelled)",
}


def group_of(category: str | None) -> str:
    if not category:
        return "unresolved"
    for group, cats in GROUPS.items():
        if category in cats:
            return group
    return "other"


def _chainsleuth_version() -> str:
    try:
        return version("chainsleuth")
    except PackageNotFoundError:
        return "unknown"


class _Amounts:
    """Exact per-(chain, asset) sums with USD alongside; renders to the report's amount-list form."""

    def __init__(self, units: dict[tuple[str, str], tuple[str, int | None]]):
        self.units = units
        self.amount: dict[tuple[str, str], int] = defaultdict(int)
        self.usd: float | None = None

    def add(self, chain: str, asset: str, amount: int | str, usd: float | None) -> None:
        self.amount[(chain, asset)] += int(amount)
        if usd is not None:
            self.usd = (self.usd or 0.0) + usd

    def to_dict(self) -> dict[str, Any]:
        by_asset = []
        for (chain, asset), amount in sorted(self.amount.items()):
            symbol, decimals = self.units.get((chain, asset), (asset, None))
            by_asset.append({"chain": chain, "asset": asset, "symbol": symbol, "amount": str(amount),
                             "display": format_amount(amount, decimals, symbol)})
        return {"usd": self.usd, "by_asset": by_asset}


def _display(units: dict, chain: str, asset: str, amount: int | str | None) -> str:
    symbol, decimals = units.get((chain, asset), (asset, None))
    return format_amount(amount, decimals, symbol)


def build_report(
    con: duckdb.DuckDBPyConnection,
    trace: dict[str, Any],
    *,
    title: str | None = None,
    subject: dict[str, Any] | None = None,
    incident: dict[str, Any] | None = None,
    victims: list[dict[str, Any]] | None = None,
    typologies: list[dict[str, Any]] | None = None,
    attribution: dict[str, Any] | None = None,
    attackers: list[str] | None = None,
    main_paths: int = 40,
) -> dict[str, Any]:
    """The report content (stable keys, see docs/api.md "Report JSON").

    ``trace`` is ``TraceResult.to_dict()``. ``incident`` is ``Incident.to_dict()`` when the subject is a
    detected incident (its losses are "stolen" and its victims the victim list); ``victims`` overrides the
    victim list (each {address, chain, assets: [{asset, amount, usd, tx_hashes}], first_drain, last_drain}).
    """
    units = asset_units(con)
    sources = [s if isinstance(s, str) else s.get("address") for s in trace.get("sources", [])]
    exits = trace.get("exits", [])
    all_edges = trace.get("edges", [])
    # address-to-address value moves; fee edges (to = NULL: paid to the block producer) stay in edges.csv only
    edges = [e for e in all_edges if e.get("from") and e.get("to")]
    resting = trace.get("resting", [])
    chains = sorted({e["chain"] for e in edges} | {x["chain"] for x in exits} | {r["chain"] for r in resting}
                    | ({incident["chain"]} if incident else set()))

    # -- where the value is: exit points and resting balances by group
    groups = {g: _Amounts(units) for g in ("exchange", "mixer", "bridge", "sanctioned", "other", "unresolved")}
    traced = _Amounts(units)
    address_group: dict[tuple[str, str], str] = {}
    exit_rows = []
    for x in exits:
        g = group_of(x.get("category"))
        if g == "unresolved":
            g = "other"
        groups[g].add(x["chain"], x["asset"], x["amount"], x.get("usd"))
        traced.add(x["chain"], x["asset"], x["amount"], x.get("usd"))
        address_group[(x["chain"], x["address"])] = g
        exit_rows.append({**x, "group": g, "display": _display(units, x["chain"], x["asset"], x["amount"])})
    rest_rows = []
    senders = {(e["chain"], e["from"]) for e in edges}
    for r in resting:
        groups["unresolved"].add(r["chain"], r["asset"], r["amount"], r.get("usd"))
        traced.add(r["chain"], r["asset"], r["amount"], r.get("usd"))
        if (r["chain"], r["address"]) not in senders:  # an address that passed value on is drawn as a hop
            address_group.setdefault((r["chain"], r["address"]), "unresolved")
        rest_rows.append({**r, "display": _display(units, r["chain"], r["asset"], r["amount"])})
    exit_rows.sort(key=lambda x: (-(x.get("usd") or 0.0), x["group"], x["address"], x["asset"]))
    rest_rows.sort(key=lambda x: (-(x.get("usd") or 0.0), x["address"], x["asset"]))

    # -- stolen: the incident's recorded losses, else what left the sources at hop 1
    stolen = _Amounts(units)
    if incident:
        for loss in incident.get("losses", []):
            stolen.add(incident["chain"], loss["asset"], loss["amount"], loss.get("usd"))
    else:
        for e in edges:
            if e.get("hop") == 1 and e["from"] in sources:
                stolen.add(e["chain"], e["asset"], e["amount"], e.get("usd"))

    summary = {
        "stolen": stolen.to_dict(),
        "traced": traced.to_dict(),
        "at_exchanges": groups["exchange"].to_dict(),
        "in_mixers": groups["mixer"].to_dict(),
        "bridges_dex": groups["bridge"].to_dict(),
        "sanctioned": groups["sanctioned"].to_dict(),
        "other_services": groups["other"].to_dict(),
        "unresolved": groups["unresolved"].to_dict(),
        "demixed": _demixed(edges, units),
        "exit_points": len(exit_rows),
        "exchanges": len({x.get("entity") or x.get("label") or x["address"] for x in exit_rows
                          if x["group"] == "exchange"}),
        "hops": max((int(e.get("hop") or 0) for e in edges), default=0),
        "transactions": len({e["tx_hash"] for e in edges}),
    }

    edge_rows = [
        {**e, "display": _display(units, e["chain"], e["asset"], e["amount"])}
        for e in sorted(all_edges, key=lambda e: (int(e.get("hop") or 0), str(e.get("time") or ""), e["tx_hash"]))
    ]
    victim_rows = _victims(victims, incident, edges, sources, summary, units)
    content = {
        "report_version": REPORT_VERSION,
        "title": title or _default_title(subject, incident, sources),
        "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "chainsleuth_version": _chainsleuth_version(),
        "subject": subject or {"kind": "trace", "id": None, "chain": chains[0] if chains else None},
        "summary": summary,
        "sankey": sankey(edges, sources, address_group, units),
        "paths": main_path_graph(edges, sources, address_group, exits, units, limit=main_paths),
        "typologies": typologies or [],
        "attribution": attribution,
        "exits": exit_rows,
        "freeze_requests": freeze_requests(exit_rows, edges, units),
        "victims": victim_rows,
        "resting": rest_rows,
        "edges": edge_rows,
        "attackers": attackers if attackers is not None else _attackers(incident, sources),
        "incident": incident,
        "method": _method(con, trace, sources, chains, incident),
    }
    return content


def _default_title(subject: dict | None, incident: dict | None, sources: list[str]) -> str:
    if incident:
        return f"Incident {incident['id']} on {incident['chain']}: where the stolen funds went"
    if subject and subject.get("id"):
        return f"{subject.get('kind', 'case').capitalize()} {subject['id']}: where the funds went"
    first = sources[0] if sources else "?"
    return f"Trace from {first}" + (f" and {len(sources) - 1} more" if len(sources) > 1 else "")


def _attackers(incident: dict | None, sources: list[str]) -> list[str]:
    if incident:
        return [a["address"] for a in incident.get("attackers", [])]
    return list(sources)


def _demixed(edges: list[dict], units: dict) -> dict[str, Any]:
    a = _Amounts(units)
    for e in edges:
        if e.get("kind") == "demix":
            a.add(e["chain"], e["asset"], e["amount"], e.get("usd"))
    return a.to_dict()


def _value(e: dict, units: dict) -> float:
    if e.get("usd") is not None:
        return float(e["usd"])
    _, decimals = units.get((e["chain"], e["asset"]), (None, None))
    return int(e["amount"]) / 10 ** (decimals or 0)


def sankey(edges: list[dict], sources: list[str], address_group: dict, units: dict) -> dict[str, Any]:
    """Value by hop and category: node ``hop:group``; a link per (group at hop-1, group at hop) pair."""
    unit = "USD" if edges and all(e.get("usd") is not None for e in edges) else "coins"
    src = set(sources)

    def group(chain: str, address: str, hop: int) -> str:
        if hop == 0 and address in src:
            return "source"
        return address_group.get((chain, address), "intermediate")

    # Depth of an address = the first hop at which taint reaches it. Only edges that advance one depth are
    # drawn: value moving sideways (consolidation among addresses of one depth) is drawn when it advances,
    # so each hop's column sums to at most what was traced instead of counting one coin several times.
    depth: dict[tuple[str, str], int] = {(e["chain"], e["from"]): 0 for e in edges if e["from"] in src}
    for e in sorted(edges, key=lambda e: int(e.get("hop") or 1)):
        if e.get("kind") == "swap":
            continue
        key = (e["chain"], e["to"])
        depth[key] = min(depth.get(key, 1 << 30), int(e.get("hop") or 1))
    links: dict[tuple[str, str], float] = defaultdict(float)
    for e in edges:
        hop = int(e.get("hop") or 1)
        if e.get("kind") == "swap":  # a swap returns the value to the swapper, who moves it on: drawn then
            continue
        if depth.get((e["chain"], e["to"])) != hop or depth.get((e["chain"], e["from"]), 0) != hop - 1:
            continue
        a = f"{hop - 1}:{group(e['chain'], e['from'], hop - 1)}"
        b = f"{hop}:{group(e['chain'], e['to'], hop)}"
        links[(a, b)] += _value(e, units) if unit == "USD" else int(e["amount"]) / 10 ** (
            units.get((e["chain"], e["asset"]), (None, 18))[1] or 0)
    ids = sorted({n for pair in links for n in pair}, key=lambda n: (int(n.split(":")[0]), n))
    nodes = [{"id": n, "column": int(n.split(":")[0]), "group": n.split(":")[1],
              "name": f"{GROUP_NAMES.get(n.split(':')[1], n.split(':')[1])} (hop {n.split(':')[0]})"} for n in ids]
    return {"unit": unit, "nodes": nodes,
            "links": [{"source": a, "target": b, "value": v} for (a, b), v in sorted(links.items())]}


def main_path_graph(
    edges: list[dict], sources: list[str], address_group: dict, exits: list[dict], units: dict, *, limit: int
) -> dict[str, Any]:
    """The ``limit`` largest address-to-address links (aggregated over transactions), with their nodes."""
    agg: dict[tuple[str, str, str], dict[str, Any]] = {}
    for e in edges:
        key = (e["chain"], e["from"], e["to"])
        a = agg.setdefault(key, {"chain": e["chain"], "from": e["from"], "to": e["to"], "value": 0.0,
                                 "hop": int(e.get("hop") or 1), "tx_hashes": [], "amounts": defaultdict(int)})
        a["value"] += _value(e, units)
        a["hop"] = min(a["hop"], int(e.get("hop") or 1))
        a["tx_hashes"].append(e["tx_hash"])
        a["amounts"][e["asset"]] += int(e["amount"])
    top = sorted(agg.values(), key=lambda a: -a["value"])[:limit]
    labels = {(x["chain"], x["address"]): x.get("entity") or x.get("label") for x in exits}
    nodes: dict[tuple[str, str], dict[str, Any]] = {}
    for a in top:
        for addr, hop in ((a["from"], a["hop"] - 1), (a["to"], a["hop"])):
            n = nodes.setdefault((a["chain"], addr), {
                "id": addr, "chain": a["chain"], "hop": hop, "label": labels.get((a["chain"], addr)),
                "group": "source" if addr in sources else address_group.get((a["chain"], addr), "intermediate"),
            })
            n["hop"] = min(n["hop"], hop)
    out_edges = [
        {"chain": a["chain"], "from": a["from"], "to": a["to"], "hop": a["hop"], "value": a["value"],
         "tx_hashes": a["tx_hashes"][:10], "transactions": len(a["tx_hashes"]),
         "display": ", ".join(_display(units, a["chain"], asset, amt) for asset, amt in sorted(a["amounts"].items()))}
        for a in top
    ]
    return {"nodes": sorted(nodes.values(), key=lambda n: (n["hop"], n["id"])), "edges": out_edges,
            "shown": len(top), "total_links": len(agg)}


def freeze_requests(exit_rows: list[dict], edges: list[dict], units: dict) -> list[dict[str, Any]]:
    """Per exchange / OTC desk: each deposit address and transaction that received stolen funds.

    Rows come from the tainted edges into the exit address (time, tx, exact amount); an exit whose edges are
    not in the trace falls back to its own tx hashes and total.
    """
    into: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for e in edges:
        into[(e["chain"], e["to"])].append(e)
    by_entity: dict[str, dict[str, Any]] = {}
    for x in exit_rows:
        if x["group"] != "exchange":
            continue
        entity = x.get("entity") or x.get("label") or x["address"]
        req = by_entity.setdefault(entity, {"entity": entity, "category": x.get("category"), "chains": set(),
                                            "addresses": set(), "rows": [], "usd": None})
        req["chains"].add(x["chain"])
        req["addresses"].add(x["address"])
        if x.get("usd") is not None:
            req["usd"] = (req["usd"] or 0.0) + x["usd"]
        tx_edges = [e for e in into[(x["chain"], x["address"])] if e["asset"] == x["asset"]]
        if tx_edges:
            for e in tx_edges:
                req["rows"].append({
                    "entity": entity, "chain": e["chain"], "deposit_address": x["address"],
                    "label": x.get("label"), "tx_hash": e["tx_hash"], "time": e.get("time"),
                    "block_number": e.get("block_number"), "from": e["from"], "asset": e["asset"],
                    "amount": str(e["amount"]), "display": _display(units, e["chain"], e["asset"], e["amount"]),
                    "usd": e.get("usd"),
                })
        else:
            req["rows"].append({
                "entity": entity, "chain": x["chain"], "deposit_address": x["address"], "label": x.get("label"),
                "tx_hash": ";".join(x.get("tx_hashes") or []), "time": None, "block_number": None, "from": None,
                "asset": x["asset"], "amount": str(x["amount"]),
                "display": _display(units, x["chain"], x["asset"], x["amount"]), "usd": x.get("usd"),
            })
    out = []
    for req in sorted(by_entity.values(), key=lambda r: (-(r["usd"] or 0.0), r["entity"])):
        req["rows"].sort(key=lambda r: (str(r["time"] or ""), r["tx_hash"]))
        totals = _Amounts(units)
        for r in req["rows"]:
            totals.add(r["chain"], r["asset"], r["amount"], r["usd"])
        out.append({"entity": req["entity"], "category": req["category"], "chains": sorted(req["chains"]),
                    "deposit_addresses": sorted(req["addresses"]), "total": totals.to_dict(), "rows": req["rows"]})
    return out


def _victims(
    victims: list[dict] | None, incident: dict | None, edges: list[dict], sources: list[str],
    summary: dict, units: dict,
) -> list[dict[str, Any]]:
    """Per victim: what was taken (exact, with tx hashes), when, and where the stolen funds went.

    A trace follows the pooled funds, not each victim's coins, so "went to" is the pool's split applied
    pro rata to the victim's share of the loss (stated as such in the report).
    """
    rows = victims
    if rows is None and incident:
        rows = [{"address": v["address"], "chain": incident["chain"], "assets": v["assets"], "usd": v.get("usd"),
                 "first_drain": v.get("first_drain"), "last_drain": v.get("last_drain")}
                for v in incident.get("victims", [])]
    if not rows:
        return []
    traced_usd = summary["traced"]["usd"]
    split = {
        g: (summary[k]["usd"] / traced_usd if traced_usd and summary[k]["usd"] is not None else None)
        for g, k in (("exchanges", "at_exchanges"), ("mixers", "in_mixers"), ("bridges_dex", "bridges_dex"),
                     ("sanctioned", "sanctioned"), ("other_services", "other_services"),
                     ("unresolved", "unresolved"))
    }
    out = []
    for v in rows:
        chain = v.get("chain") or (incident or {}).get("chain")
        taken = [{"asset": a["asset"], "amount": str(a["amount"]),
                  "display": _display(units, chain, a["asset"], a["amount"]), "usd": a.get("usd"),
                  "tx_hashes": list(a.get("tx_hashes") or [])} for a in v.get("assets", [])]
        usd = v.get("usd")
        if usd is None and all(a.get("usd") is not None for a in v.get("assets", [])) and v.get("assets"):
            usd = sum(a["usd"] for a in v["assets"])
        went = {g: (usd * s if usd is not None and s is not None else None) for g, s in split.items()}
        out.append({"address": v["address"], "chain": chain, "taken": taken, "usd": usd,
                    "first_drain": v.get("first_drain"), "last_drain": v.get("last_drain"),
                    "went_to_usd": went, "went_to_share": split})
    return out


def _method(con: duckdb.DuckDBPyConnection, trace: dict, sources: list[str], chains: list[str],
            incident: dict | None) -> dict[str, Any]:
    info = store_summary(con)
    data = [
        {"chain": c["chain"], "blocks": c["blocks"], "time": c["time"], "transfers": c["rows"]["transfers"],
         "utxo_outputs": c["rows"]["utxo_outputs"], "traces_ingested": c["traces_ingested"]}
        for c in info["chains"] if c["chain"] in chains
    ]
    return {
        "model": trace.get("model"),
        "direction": trace.get("direction"),
        "parameters": trace.get("parameters", {}),
        "sources": trace.get("sources", sources),
        "totals": trace.get("totals"),
        "data": data,
        "prices": info["prices"],
        "tags": info["tags"],
        "incident_parameters": (incident or {}).get("parameters"),
        "notes": [
            "Amounts are exact base-unit integers from the ledger; USD values are estimates at the day's price.",
            "Exit points are addresses with an exchange, OTC, bridge, mixer or other service label "
            "(tag, cluster or deposit-address heuristic); 'unresolved' value rests at unlabelled addresses.",
            "The victim split is the traced pool's split applied pro rata to each victim's loss.",
        ],
    }
