"""Case reports from a TraceResult-shaped trace over a real ledger: summary, freeze requests, victims,
self-contained HTML, GraphML, STIX 2.1 and the CLI."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys

import networkx as nx
import pytest
from report_theft import (
    ATTACKER,
    BINANCE_DEP,
    KRAKEN_DEP,
    REST,
    TORNADO,
    USD,
    VICTIMS,
    WEI,
    incident_dict,
    trace_dict,
    txh,
)

from chainsleuth.errors import InputError
from chainsleuth.report import build_report, render_files, resolve, write_report
from chainsleuth.report.stix import to_stix

ATTRIBUTION = {
    "best": "ronin-2022", "confident_match": True, "verdict": "confident match: ronin-2022",
    "candidates": [{"name": "ronin-2022", "title": "Ronin bridge theft", "kind": "library", "score": 0.81,
                    "confidence": 0.9, "agree": [{"feature": "mixer", "reason": "both used Tornado Cash"}],
                    "disagree": []}],
}


@pytest.fixture
def content(ledger):
    return build_report(ledger, trace_dict(), incident=incident_dict(), attribution=ATTRIBUTION,
                        subject={"kind": "incident", "id": "INC-0123456789ab", "chain": "ethereum"})


def test_summary_splits_traced_value_exactly(content):
    s = content["summary"]
    amt = {k: s[k]["by_asset"][0]["amount"] for k in ("stolen", "traced", "at_exchanges", "in_mixers", "unresolved")}
    assert amt == {"stolen": str(100 * WEI), "traced": str(100 * WEI), "at_exchanges": str(60 * WEI),
                   "in_mixers": str(30 * WEI), "unresolved": str(10 * WEI)}
    assert s["at_exchanges"]["usd"] == pytest.approx(60 * USD)
    assert s["exchanges"] == 2 and s["exit_points"] == 3 and s["hops"] == 2 and s["transactions"] == 7
    assert s["stolen"]["by_asset"][0]["display"] == "100 ETH"


def test_freeze_requests_list_every_deposit_transaction(content):
    fr = {f["entity"]: f for f in content["freeze_requests"]}
    assert set(fr) == {"Binance", "Kraken"}  # the mixer is no freeze target
    binance = fr["Binance"]
    assert [r["tx_hash"] for r in binance["rows"]] == [txh(3), txh(4)]
    assert sum(int(r["amount"]) for r in binance["rows"]) == 30 * WEI
    assert binance["deposit_addresses"] == [BINANCE_DEP]
    assert binance["rows"][0]["time"].startswith("2024-03-01T12:30")
    assert fr["Kraken"]["rows"][0]["deposit_address"] == KRAKEN_DEP


def test_victim_list_and_pro_rata_destinations(content):
    v = {x["address"]: x for x in content["victims"]}
    assert set(v) == set(VICTIMS)
    first = v[VICTIMS[0]]
    assert first["taken"][0]["amount"] == str(70 * WEI) and first["taken"][0]["tx_hashes"] == [txh(0x201)]
    assert first["went_to_usd"]["exchanges"] == pytest.approx(70 * USD * 0.6)
    assert first["went_to_usd"]["mixers"] == pytest.approx(70 * USD * 0.3)


def test_sankey_conserves_value(content):
    sk = content["sankey"]
    assert sk["unit"] == "USD"
    into = {}
    for ln in sk["links"]:
        into[ln["target"]] = into.get(ln["target"], 0) + ln["value"]
    assert into["2:exchange"] == pytest.approx(60 * USD)
    assert into["2:mixer"] == pytest.approx(30 * USD) and into["2:unresolved"] == pytest.approx(10 * USD)
    assert sum(ln["value"] for ln in sk["links"] if ln["source"] == "0:source") == pytest.approx(100 * USD)


def test_html_is_self_contained_and_complete(content):
    html = render_files(content)["report.html"]
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", html)
    assert "<script" not in html and "@import" not in html
    assert not re.search(r"url\((?!#)", html)  # only in-document references (SVG markers)
    for x in content["exits"]:
        for h in x["tx_hashes"]:
            assert h in html
    for word in ("Freeze requests", "Exit points", "Typologies", "Victims", "Method", "haircut", "Ronin bridge theft",
                 "<svg class=\"sankey\"", "<svg class=\"paths\""):
        assert word in html


def test_graphml_reads_back_with_exact_amounts(content):
    g = nx.read_graphml(__import__("io").BytesIO(render_files(content)["case.graphml"]))
    assert g.number_of_edges() == 7
    assert g.nodes[f"ethereum:{ATTACKER}"]["role"] == "attacker"
    assert g.nodes[f"ethereum:{BINANCE_DEP}"]["category"] == "deposit"
    amounts = sorted(int(d["amount"]) for _, _, d in g.edges(data=True))
    assert sum(amounts) == 200 * WEI


def test_stix_bundle_is_consistent_and_stable(content):
    b = to_stix(content)
    assert b["type"] == "bundle"
    ids = {o["id"] for o in b["objects"]}
    by_type: dict[str, list] = {}
    for o in b["objects"]:
        by_type.setdefault(o["type"], []).append(o)
        assert o["id"].startswith(o["type"] + "--")
        if o["type"] != "identity":
            assert o["spec_version"] == "2.1" and o["created_by_ref"] in ids
        if o["type"] == "relationship":
            assert o["source_ref"] in ids and o["target_ref"] in ids
    (ind,) = by_type["indicator"]
    assert ind["pattern"] == f"[cryptocurrency-wallet:address = '{ATTACKER}']"
    assert txh(1) in ind["description"]
    (actor,) = by_type["threat-actor"]
    assert actor["name"] == "Ronin bridge theft"
    assert {r["relationship_type"] for r in by_type["relationship"]} == {"indicates", "attributed-to"}
    report = by_type["report"][0]
    assert set(report["object_refs"]) == ids - {by_type["identity"][0]["id"], report["id"]}
    assert to_stix(content)["objects"][1]["id"] == b["objects"][1]["id"]  # deterministic ids
    unsure = dict(content, attribution={**ATTRIBUTION, "confident_match": False})
    assert "threat-actor" not in {o["type"] for o in to_stix(unsure)["objects"]}


def test_write_report_folder_and_replace(content, tmp_path):
    tmp_path = tmp_path / "reports"
    out = tmp_path / "rep"
    written = write_report(content, out)
    assert (out / "report.html").is_file()
    assert {"freeze_requests/binance.csv", "freeze_requests/kraken.json", "victims.csv", "stix-bundle.json",
            "exits.csv", "edges.csv", "case.graphml", "report.json"} <= set(written["files"])
    rows = list(csv.DictReader((out / "freeze_requests" / "binance.csv").open()))
    assert [r["tx_hash"] for r in rows] == [txh(3), txh(4)] and rows[0]["amount"] == str(25 * WEI)
    assert json.loads((out / "report.json").read_text())["summary"]["traced"]["by_asset"][0]["amount"] == str(100 * WEI)
    (out / "stale.txt").write_text("old")
    write_report(content, out)
    assert not (out / "stale.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]  # no temp folders left behind


def test_resolve_trace_file_and_bad_inputs(ledger, tmp_path):
    f = tmp_path / "trace.json"
    f.write_text(json.dumps(trace_dict()))
    c = resolve(ledger, str(f))
    assert c["subject"] == {"kind": "trace", "id": "trace.json", "chain": "ethereum"}
    assert c["summary"]["unresolved"]["by_asset"][0]["amount"] == str(10 * WEI)
    assert {r["address"] for r in c["resting"]} == {REST} and TORNADO in {x["address"] for x in c["exits"]}
    assert isinstance(c["typologies"], list)
    bad = tmp_path / "bad.json"
    bad.write_text('{"sources": [],\n "exits": ')
    with pytest.raises(InputError) as exc:
        resolve(ledger, str(bad))
    assert exc.value.line == 2
    (tmp_path / "other.json").write_text("[1]")
    with pytest.raises(InputError, match="not a trace"):
        resolve(ledger, str(tmp_path / "other.json"))


def test_cli_report_from_trace_file(ledger, db_path, tmp_path):
    ledger.close()
    f = tmp_path / "trace.json"
    f.write_text(json.dumps(trace_dict()))
    out = tmp_path / "cli-report"
    r = subprocess.run([sys.executable, "-m", "chainsleuth.cli", "report", str(f), "--out", str(out), "--db",
                        str(db_path), "--format", "json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["html"] == str(out / "report.html") and res["summary"]["exchanges"] == 2
    r = subprocess.run([sys.executable, "-m", "chainsleuth.cli", "report", "no-such-case", "--db", str(db_path)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "not an incident id" in r.stderr
