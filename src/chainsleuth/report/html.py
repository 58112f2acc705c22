"""The self-contained HTML report: one file, inline CSS and SVG, no script and no remote resource, so it
opens offline and prints as-is."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from chainsleuth.report.svg import legend_html, paths_svg, sankey_svg

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1c2833;background:#fff}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 8px;border-bottom:2px solid #d5d8dc}
h3{font-size:16px;margin:18px 0 6px}.muted{color:#707b7c}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:10px;margin:14px 0}
.card{border:1px solid #d5d8dc;border-radius:6px;padding:10px 12px}.card b{display:block;font-size:19px}
.card small{color:#566573}.card small.n{display:block}.card.ex{border-left:5px solid #2471a3}.card.mx{border-left:5px solid #8e44ad}
.card.un{border-left:5px solid #b3b6b7}.card.st{border-left:5px solid #c0392b}
table{border-collapse:collapse;width:100%;margin:6px 0 12px;font-size:12.5px}
th,td{border-bottom:1px solid #e5e8e8;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f4f6f6}td.num{text-align:right;white-space:nowrap}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;word-break:break-all}
svg text.lbl{font-size:11px;fill:#1c2833}svg text.hop{font-size:11px;fill:#707b7c}
.legend span{margin-right:14px;font-size:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
details{margin:8px 0}summary{cursor:pointer;font-weight:600}
.badge{display:inline-block;padding:1px 6px;border-radius:3px;background:#eaeded;font-size:11px}
.yes{background:#fadbd8}pre{background:#f8f9f9;padding:8px;overflow:auto;font-size:12px}
@media print{details{display:block}}
"""


def _e(v: Any) -> str:
    return "" if v is None else escape(str(v))


def _usd(v: float | None) -> str:
    return "n/a" if v is None else f"${v:,.2f}"


def _amounts(a: dict[str, Any]) -> str:
    parts = [_e(x["display"]) for x in a["by_asset"]]
    return "<br>".join(parts) if parts else "0"


def _txs(hashes: list[str] | None, limit: int = 6) -> str:
    hashes = list(hashes or [])
    shown = "<br>".join(f"<code>{_e(h)}</code>" for h in hashes[:limit])
    return shown + (f"<br><span class=muted>+{len(hashes) - limit} more (JSON/CSV)</span>" if len(hashes) > limit else "")


def _card(cls: str, title: str, a: dict[str, Any], note: str = "") -> str:
    return (f'<div class="card {cls}"><small>{_e(title)}</small><b>{_usd(a["usd"])}</b>'
            f'<span class="mono">{_amounts(a)}</span>{note.replace("<small>", "<small class=n>")}</div>')


def render_html(c: dict[str, Any]) -> str:
    s = c["summary"]
    subj = c["subject"]
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        '<meta name=viewport content="width=device-width,initial-scale=1">',
        f"<title>{_e(c['title'])}</title><style>{CSS}</style></head><body><main>",
        f"<h1>{_e(c['title'])}</h1>",
        f'<p class=muted>Generated {_e(c["generated_at"])} by chainsleuth {_e(c["chainsleuth_version"])} · '
        f'subject: {_e(subj.get("kind"))} {_e(subj.get("id") or "")} · chain {_e(subj.get("chain"))}</p>',
        "<h2 id=summary>Summary</h2><div class=cards>",
        _card("st", "Stolen", s["stolen"]),
        _card("", "Traced", s["traced"], f"<small>{s['hops']} hops, {s['transactions']} transactions</small>"),
        _card("ex", "At exchanges (freezable)", s["at_exchanges"],
              f"<small>{s['exchanges']} exchanges / OTC desks</small>"),
        _card("mx", "In mixers", s["in_mixers"]),
        _card("", "Bridges / DEX / DeFi", s["bridges_dex"]),
        _card("", "Other services", s["other_services"]),
        _card("un", "Unresolved", s["unresolved"], "<small>at unlabelled addresses</small>"),
        "</div>",
    ]
    if s["sanctioned"]["by_asset"]:
        parts.append(f"<p><b>Sanctioned entities received</b> {_usd(s['sanctioned']['usd'])} "
                     f"({_amounts(s['sanctioned'])}).</p>")
    if s["demixed"]["by_asset"]:
        parts.append(f"<p class=muted>Followed through mixers by demixing heuristics: {_amounts(s['demixed'])} "
                     "(probabilistic links; see method).</p>")
    parts += [
        "<h2 id=flow>Flow of funds</h2>",
        f"<p class=muted>Value by hop and where it ended ({_e(c['sankey']['unit'])}). Hover for amounts.</p>",
        legend_html(), sankey_svg(c["sankey"]),
        f"<h3>Main paths</h3><p class=muted>The {c['paths']['shown']} largest of {c['paths']['total_links']} "
        "address-to-address links; hover an arrow for its amount and a transaction.</p>",
        paths_svg(c["paths"]),
    ]
    parts.append(_freeze_section(c))
    parts.append(_exits_section(c))
    parts.append(_typology_section(c))
    parts.append(_victim_section(c))
    parts.append(_resting_section(c))
    parts.append(_method_section(c))
    parts.append("</main></body></html>")
    return "\n".join(parts)


def _freeze_section(c: dict[str, Any]) -> str:
    out = ["<h2 id=freeze>Freeze requests</h2>"]
    if not c["freeze_requests"]:
        return out[0] + "<p>No stolen funds reached a labelled exchange or OTC desk.</p>"
    out.append("<p class=muted>Per exchange: the deposit addresses and transactions that received stolen funds "
               "(also in <code>freeze_requests/</code> as CSV and JSON, one file per exchange).</p>")
    for r in c["freeze_requests"]:
        out.append(f"<h3>{_e(r['entity'])} <span class=badge>{_e(r['category'])}</span> — "
                   f"{_usd(r['total']['usd'])}</h3>")
        out.append("<table><tr><th>time (UTC)</th><th>deposit address</th><th>transaction</th>"
                   "<th class=num>amount</th><th class=num>USD</th></tr>")
        for row in r["rows"]:
            out.append(f"<tr><td>{_e(row['time'])}</td><td><code>{_e(row['deposit_address'])}</code></td>"
                       f"<td><code>{_e(row['tx_hash'])}</code></td><td class=num>{_e(row['display'])}</td>"
                       f"<td class=num>{_usd(row['usd'])}</td></tr>")
        out.append("</table>")
    return "\n".join(out)


def _exits_section(c: dict[str, Any]) -> str:
    out = ["<h2 id=exits>Exit points</h2>",
           "<table><tr><th>address</th><th>label / entity</th><th>category</th><th>hop</th>"
           "<th class=num>amount</th><th class=num>USD</th><th>transactions</th></tr>"]
    for x in c["exits"]:
        name = x.get("entity") or x.get("label") or ""
        out.append(f"<tr><td><code>{_e(x['address'])}</code><br><small>{_e(x['chain'])}</small></td>"
                   f"<td>{_e(name)}{'<br><small>' + _e(x.get('label')) + '</small>' if x.get('label') != name else ''}"
                   f"</td><td>{_e(x.get('category'))}</td><td>{_e(x.get('hop'))}</td>"
                   f"<td class=num>{_e(x['display'])}</td><td class=num>{_usd(x.get('usd'))}</td>"
                   f"<td>{_txs(x.get('tx_hashes'))}</td></tr>")
    out.append("</table>")
    if not c["exits"]:
        out.append("<p>No exit points.</p>")
    return "\n".join(out)


def _typology_section(c: dict[str, Any]) -> str:
    out = ["<h2 id=typologies>Typologies and attribution</h2>"]
    found = [t for t in c["typologies"] if t.get("detected", True)]
    if found:
        out.append("<table><tr><th>pattern</th><th>finding</th><th>measures</th><th>evidence</th></tr>")
        for t in found:
            ev = [e.get("tx_hash") for e in t.get("evidence", []) if isinstance(e, dict) and e.get("tx_hash")]
            out.append(f"<tr><td><b>{_e(t.get('name'))}</b></td><td>{_e(t.get('summary'))}</td>"
                       f"<td><code>{_e(json.dumps(t.get('measures', {}), default=str))}</code></td>"
                       f"<td>{_txs(ev, 4)}</td></tr>")
        out.append("</table>")
    else:
        out.append("<p>No laundering typology detected" + (" (none analysed)." if not c["typologies"] else ".")
                   + "</p>")
    a = c.get("attribution")
    if a:
        out.append("<h3>Attribution</h3>")
        if a.get("verdict"):
            out.append(f"<p><b>{_e(a['verdict'])}</b></p>")
        cands = a.get("candidates") or []
        if cands:
            out.append("<table><tr><th>candidate</th><th>score</th><th>P(same actor)</th><th>agreeing evidence</th>"
                       "<th>disagreeing</th></tr>")
            for cand in cands[:8]:
                agree = "<br>".join(_e(x.get("reason") or x.get("feature")) if isinstance(x, dict) else _e(x)
                                    for x in (cand.get("agree") or cand.get("reasons") or []))
                disagree = "<br>".join(_e(x.get("reason") or x.get("feature")) if isinstance(x, dict) else _e(x)
                                       for x in cand.get("disagree") or [])
                conf = cand.get("confidence")
                out.append(f"<tr><td><b>{_e(cand.get('title') or cand.get('name') or cand.get('actor'))}</b>"
                           f"<br><small>{_e(cand.get('kind'))} {_e(cand.get('name'))}</small></td>"
                           f"<td>{_e(round(cand['score'], 3) if isinstance(cand.get('score'), float) else cand.get('score'))}"
                           f"</td><td>{'' if conf is None else f'{conf:.0%}'}</td>"
                           f"<td>{agree}</td><td>{disagree}</td></tr>")
            out.append("</table>")
        elif not a.get("verdict"):
            out.append(f"<pre>{_e(json.dumps(a, indent=1, default=str))}</pre>")
    else:
        out.append("<p class=muted>No attribution recorded for this subject.</p>")
    return "\n".join(out)


def _victim_section(c: dict[str, Any]) -> str:
    out = ["<h2 id=victims>Victims</h2>"]
    if not c["victims"]:
        return out[0] + "<p class=muted>No victim list for this subject (a plain trace).</p>"
    out.append(f"<p class=muted>{len(c['victims'])} victims. 'Went to' applies the traced pool's split to each "
               "victim's loss.</p><table><tr><th>victim</th><th>taken</th><th>when (UTC)</th><th>transactions</th>"
               "<th>went to (USD)</th></tr>")
    for v in c["victims"]:
        went = ", ".join(f"{k.replace('_', ' ')} {_usd(x)}" for k, x in v["went_to_usd"].items() if x)
        out.append(f"<tr><td><code>{_e(v['address'])}</code></td>"
                   f"<td>{'<br>'.join(_e(t['display']) for t in v['taken'])}<br><b>{_usd(v['usd'])}</b></td>"
                   f"<td>{_e(v['first_drain'])}<br>{_e(v['last_drain'])}</td>"
                   f"<td>{_txs([h for t in v['taken'] for h in t['tx_hashes']], 3)}</td><td>{_e(went)}</td></tr>")
    out.append("</table>")
    return "\n".join(out)


def _resting_section(c: dict[str, Any]) -> str:
    out = ["<h2 id=unresolved>Unresolved: still at unlabelled addresses</h2>"]
    if not c["resting"]:
        return out[0] + "<p>None.</p>"
    out.append("<table><tr><th>address</th><th class=num>amount</th><th class=num>USD</th><th>transactions</th></tr>")
    for r in c["resting"]:
        out.append(f"<tr><td><code>{_e(r['address'])}</code></td><td class=num>{_e(r['display'])}</td>"
                   f"<td class=num>{_usd(r.get('usd'))}</td><td>{_txs(r.get('tx_hashes'), 3)}</td></tr>")
    out.append("</table>")
    return "\n".join(out)


def _method_section(c: dict[str, Any]) -> str:
    m = c["method"]
    out = [
        "<h2 id=method>Method</h2>",
        f"<p>Taint model <b>{_e(m['model'])}</b>, direction <b>{_e(m['direction'])}</b>, from "
        f"{len(m['sources'] or [])} source address(es). Parameters:</p>",
        f"<pre>{_e(json.dumps(m['parameters'], indent=1, default=str))}</pre>",
        "<h3>Data</h3><table><tr><th>chain</th><th>blocks</th><th>time (UTC)</th><th>transfers / outputs</th>"
        "<th>internal traces</th></tr>",
    ]
    for d in m["data"]:
        out.append(f"<tr><td>{_e(d['chain'])}</td><td>{_e(d['blocks']['first'])}..{_e(d['blocks']['last'])}</td>"
                   f"<td>{_e(d['time']['first'])} .. {_e(d['time']['last'])}</td>"
                   f"<td>{_e(d['transfers'] or d['utxo_outputs'])}</td><td>{_e(d['traces_ingested'])}</td></tr>")
    out.append("</table>")
    p, t = m["prices"], m["tags"]
    out.append(f"<p>Prices: {p['rows']} daily rows for {p['symbols']} symbols ({_e(p['first_day'])}..{_e(p['last_day'])})."
               f" Labels: {t['rows']} tags from {t['sources']} sources.</p>")
    if m.get("incident_parameters"):
        out.append("<p>Incident detection thresholds:</p>"
                   f"<pre>{_e(json.dumps(m['incident_parameters'], indent=1, default=str))}</pre>")
    out.append("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in m["notes"]) + "</ul>")
    out.append("<p>Sources:</p><p>" + "<br>".join(
        f"<code>{_e(s if isinstance(s, str) else s.get('address'))}</code>" for s in (m["sources"] or [])) + "</p>")
    edges = c["edges"]
    out.append(f"<details><summary>All {len(edges)} traced transfers</summary><table><tr><th>hop</th><th>time</th>"
               "<th>from</th><th>to</th><th class=num>tainted amount</th><th>kind</th><th>transaction</th></tr>")
    for e in edges:
        out.append(f"<tr><td>{_e(e.get('hop'))}</td><td>{_e(e.get('time'))}</td><td><code>{_e(e['from'])}</code></td>"
                   f"<td><code>{_e(e['to'])}</code></td><td class=num>{_e(e['display'])}</td><td>{_e(e.get('kind'))}</td>"
                   f"<td><code>{_e(e['tx_hash'])}</code></td></tr>")
    out.append("</table></details>")
    return "\n".join(out)
