"""Case graph export to GraphML (Brandes et al., "GraphML Progress Report", GD 2001), readable by Gephi,
yEd, Maltego imports, NetworkX and Neo4j's APOC: addresses as nodes, every traced transfer as an edge."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

NS = "http://graphml.graphdrawing.org/xmlns"

NODE_KEYS = [("chain", "string"), ("label", "string"), ("category", "string"), ("entity", "string"),
             ("role", "string")]
EDGE_KEYS = [("chain", "string"), ("tx_hash", "string"), ("asset", "string"), ("amount", "string"),
             ("display", "string"), ("usd", "double"), ("hop", "int"), ("kind", "string"), ("time", "string"),
             ("block_number", "long")]


def to_graphml(content: dict[str, Any]) -> bytes:
    """GraphML of the report's case graph. Amounts are strings (exact base units: GraphML has no big int)."""
    ET.register_namespace("", NS)
    root = ET.Element(f"{{{NS}}}graphml")
    for name, typ in NODE_KEYS:
        ET.SubElement(root, f"{{{NS}}}key", {"id": f"n_{name}", "for": "node", "attr.name": name, "attr.type": typ})
    for name, typ in EDGE_KEYS:
        ET.SubElement(root, f"{{{NS}}}key", {"id": f"e_{name}", "for": "edge", "attr.name": name, "attr.type": typ})
    graph = ET.SubElement(root, f"{{{NS}}}graph", {"id": "case", "edgedefault": "directed"})
    nodes: dict[tuple[str, str], dict[str, Any]] = {}
    attackers = set(content.get("attackers") or [])
    sources = {s if isinstance(s, str) else s.get("address") for s in content["method"].get("sources") or []}
    edges = [e for e in content["edges"] if e.get("from") and e.get("to")]  # fee edges have no recipient
    for e in edges:
        for a in (e["from"], e["to"]):
            nodes.setdefault((e["chain"], a), {"chain": e["chain"]})
    for x in content["exits"]:
        nodes.setdefault((x["chain"], x["address"]), {"chain": x["chain"]}).update(
            {"label": x.get("label"), "category": x.get("category"), "entity": x.get("entity"), "role": "exit"})
    for r in content["resting"]:
        nodes.setdefault((r["chain"], r["address"]), {"chain": r["chain"]}).setdefault("role", "unresolved")
    for (_chain, addr), attrs in nodes.items():
        if addr in attackers:
            attrs["role"] = "attacker"
        elif addr in sources:
            attrs.setdefault("role", "source")
    ids = {key: f"{key[0]}:{key[1]}" for key in nodes}
    for key, attrs in sorted(nodes.items()):
        n = ET.SubElement(graph, f"{{{NS}}}node", {"id": ids[key]})
        for name, _ in NODE_KEYS:
            if attrs.get(name) is not None:
                ET.SubElement(n, f"{{{NS}}}data", {"key": f"n_{name}"}).text = str(attrs[name])
    for i, e in enumerate(edges):
        el = ET.SubElement(graph, f"{{{NS}}}edge", {"id": f"e{i}", "source": ids[(e["chain"], e["from"])],
                                                    "target": ids[(e["chain"], e["to"])]})
        for name, _ in EDGE_KEYS:
            if e.get(name) is not None:
                ET.SubElement(el, f"{{{NS}}}data", {"key": f"e_{name}"}).text = str(e[name])
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
