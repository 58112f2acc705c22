"""Self-contained SVG pictures for reports: a Sankey of value by hop and category, and the main-paths graph.

Plain SVG with a small layout of our own (columns by hop, heights by value), so a report opens offline with
no script or stylesheet from anywhere. The Sankey follows the usual column layout (Riehmann, Hanfler &
Froehlich, "Interactive Sankey Diagrams", InfoVis 2005) without crossing minimisation: nodes are ordered by
category, which keeps the picture stable between reports.
"""

from __future__ import annotations

from collections import defaultdict
from html import escape
from typing import Any

COLORS = {
    "source": "#c0392b", "intermediate": "#7f8c8d", "exchange": "#2471a3", "mixer": "#8e44ad",
    "bridge": "#d68910", "sanctioned": "#000000", "other": "#16a085", "unresolved": "#b3b6b7",
}
ORDER = ["source", "intermediate", "exchange", "mixer", "bridge", "sanctioned", "other", "unresolved"]


def short(address: str) -> str:
    return address if len(address) <= 14 else f"{address[:8]}…{address[-4:]}"


def _fmt(v: float, unit: str) -> str:
    if unit == "USD":
        return f"${v:,.0f}" if v >= 100 else f"${v:,.2f}"
    return f"{v:,.4g} {unit}"


def sankey_svg(sankey: dict[str, Any], width: int = 960, height: int = 420) -> str:
    nodes, links, unit = sankey["nodes"], sankey["links"], sankey["unit"]
    if not links:
        return '<p class="muted">No flow to draw.</p>'
    inflow: dict[str, float] = defaultdict(float)
    outflow: dict[str, float] = defaultdict(float)
    for ln in links:
        outflow[ln["source"]] += ln["value"]
        inflow[ln["target"]] += ln["value"]
    size = {n["id"]: max(inflow[n["id"]], outflow[n["id"]]) for n in nodes}
    columns: dict[int, list[dict]] = defaultdict(list)
    for n in nodes:
        columns[n["column"]].append(n)
    for col in columns.values():
        col.sort(key=lambda n: (ORDER.index(n["group"]) if n["group"] in ORDER else 99, n["id"]))
    cols = sorted(columns)
    pad, top, node_w, label_w = 14, 20, 14, 0
    usable = height - top - 20
    scale = min((usable - pad * (len(columns[c]) - 1)) / max(sum(size[n["id"]] for n in columns[c]), 1e-12)
                for c in cols)
    step = (width - label_w - node_w - 20) / max(len(cols) - 1, 1)
    pos: dict[str, tuple[float, float, float]] = {}
    for i, c in enumerate(cols):
        y = top
        for n in columns[c]:
            h = max(size[n["id"]] * scale, 2.0)
            pos[n["id"]] = (10 + i * step, y, h)
            y += h + pad
    out_off: dict[str, float] = defaultdict(float)
    in_off: dict[str, float] = defaultdict(float)
    parts = [f'<svg class="sankey" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-label="Sankey diagram of traced value by hop and category">']
    group_of = {n["id"]: n["group"] for n in nodes}
    for ln in sorted(links, key=lambda x: (pos[x["source"]][1], pos[x["target"]][1])):
        sx, sy, _ = pos[ln["source"]]
        tx, ty, _ = pos[ln["target"]]
        t = max(ln["value"] * scale, 1.0)
        y0 = sy + out_off[ln["source"]] + t / 2
        y1 = ty + in_off[ln["target"]] + t / 2
        out_off[ln["source"]] += t
        in_off[ln["target"]] += t
        x0, x1 = sx + node_w, tx
        xm = (x0 + x1) / 2
        color = COLORS.get(group_of[ln["target"]], "#999")
        parts.append(
            f'<path d="M{x0:.1f},{y0:.1f} C{xm:.1f},{y0:.1f} {xm:.1f},{y1:.1f} {x1:.1f},{y1:.1f}" fill="none" '
            f'stroke="{color}" stroke-opacity="0.35" stroke-width="{t:.1f}"><title>'
            f'{escape(ln["source"])} → {escape(ln["target"])}: {_fmt(ln["value"], unit)}</title></path>'
        )
    for n in nodes:
        x, y, h = pos[n["id"]]
        color = COLORS.get(n["group"], "#999")
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{node_w}" height="{h:.1f}" fill="{color}">'
                     f'<title>{escape(n["name"])}: {_fmt(size[n["id"]], unit)}</title></rect>')
        last = n["column"] == cols[-1] and len(cols) > 1
        tx = x - 4 if last else x + node_w + 4
        anchor = "end" if last else "start"
        parts.append(f'<text x="{tx:.1f}" y="{y + h / 2 + 4:.1f}" class="lbl" text-anchor="{anchor}">'
                     f'{escape(n["name"])} {_fmt(size[n["id"]], unit)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def paths_svg(paths: dict[str, Any], width: int = 960) -> str:
    nodes, edges = paths["nodes"], paths["edges"]
    if not edges:
        return '<p class="muted">No paths to draw.</p>'
    by_hop: dict[int, list[dict]] = defaultdict(list)
    for n in nodes:
        by_hop[n["hop"]].append(n)
    hops = sorted(by_hop)
    weight: dict[str, float] = defaultdict(float)
    for e in edges:
        weight[e["from"]] += e["value"]
        weight[e["to"]] += e["value"]
    row_h, top = 46, 30
    rows = max(len(v) for v in by_hop.values())
    height = top + rows * row_h + 20
    step = (width - 200) / max(len(hops) - 1, 1)
    xy: dict[str, tuple[float, float]] = {}
    for i, h in enumerate(hops):
        col = sorted(by_hop[h], key=lambda n: (-weight[n["id"]], n["id"]))
        offset = (rows - len(col)) * row_h / 2
        for j, n in enumerate(col):
            xy[n["id"]] = (60 + i * step, top + offset + j * row_h + row_h / 2)
    vmax = max(e["value"] for e in edges) or 1.0
    parts = [f'<svg class="paths" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-label="Main paths of the traced funds">',
             '<defs><marker id="arr" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" markerHeight="9" '
             'markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>']
    for i, h in enumerate(hops):
        parts.append(f'<text x="{60 + i * step:.1f}" y="14" class="hop" text-anchor="middle">hop {h}</text>')
    for e in edges:
        (x0, y0), (x1, y1) = xy[e["from"]], xy[e["to"]]
        w = 1 + 7 * (e["value"] / vmax) ** 0.5
        xm = (x0 + x1) / 2
        parts.append(
            f'<path d="M{x0 + 9:.1f},{y0:.1f} C{xm:.1f},{y0:.1f} {xm:.1f},{y1:.1f} {x1 - 9:.1f},{y1:.1f}" '
            f'fill="none" stroke="#555" stroke-opacity="0.55" stroke-width="{w:.1f}" marker-end="url(#arr)">'
            f'<title>{escape(e["from"])} → {escape(e["to"])}: {escape(e["display"])} in {e["transactions"]} tx '
            f'(e.g. {escape(e["tx_hashes"][0])})</title></path>'
        )
    for n in nodes:
        x, y = xy[n["id"]]
        color = COLORS.get(n["group"], "#999")
        name = n["label"] or short(n["id"])
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="8" fill="{color}"><title>{escape(n["id"])}'
                     f'{" — " + escape(n["label"]) if n["label"] else ""} ({escape(n["group"])})</title></circle>')
        parts.append(f'<text x="{x:.1f}" y="{y + 20:.1f}" class="lbl" text-anchor="middle">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def legend_html() -> str:
    items = "".join(f'<span><i style="background:{COLORS[g]}"></i>{escape(g)}</span>' for g in ORDER)
    return f'<div class="legend">{items}</div>'
