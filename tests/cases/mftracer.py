"""Run a hand-verified MFTracer case end to end through the real CLI and score the trace's end points.

Method (the same for every case, no per-case settings): ingest the case CSV (``chainsleuth ingest csv``), load
the shipped default tags and the Etherscan labels of the case's addresses (tests only: those labels may not
ship), trace forward from ``source addresses.csv`` with the default model and options, and compare the trace's
end points (exit points and resting addresses) with ``terminal addresses.csv`` restricted to addresses that
appear in the case file. USD reaching terminals: the trace's USD at terminal end points vs the case file's
USD flowing into the terminals.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from chainsleuth import store
from chainsleuth.labels.defaults import load_default_tags
from chainsleuth.model import category_from_label

CASES = ("HB", "54m", "XScam")
CLI = [str(Path(sys.executable).parent / "chainsleuth")]


def _read_addresses(path: Path) -> list[str]:
    return [line.strip().lower() for line in path.read_text().splitlines() if line.strip().startswith("0x")]


def load_etherscan_labels(con, shared_data: Path, addresses: set[str]) -> int:
    """Etherscan name tags of ``addresses`` as tags (source etherscan-labels; category from the name)."""
    data = json.loads((shared_data / "etherscan-labels" / "data" / "etherscan" / "combined" /
                       "combinedAllLabels.json").read_text())
    rows = []
    for a, v in data.items():
        a = a.lower()
        if a not in addresses or not v.get("name"):
            continue
        cat = category_from_label(v["name"]) or next(
            (category_from_label(x) for x in v.get("labels", []) if category_from_label(x)), None)
        rows.append(("ethereum", a, v["name"], cat, "etherscan-labels", "test", "etherscan-labels"))
    if rows:
        con.executemany("INSERT INTO tags (chain, address, label, category, source, added_by, dataset) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def run_case(case: str, shared_data: Path, workdir: Path) -> dict:
    folder = shared_data / "mftracer-cases" / case
    db = workdir / f"{case}.duckdb"
    env = {**os.environ, "CHAINSLEUTH_DB": str(db)}
    subprocess.run([*CLI, "ingest", "csv", str(folder / f"{case}.csv"), "--chain", "ethereum"], env=env, check=True,
                   capture_output=True)
    with (folder / f"{case}.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    addresses = {r["From"].lower() for r in rows} | {r["To"].lower() for r in rows}
    con = store.connect(db)
    load_default_tags(con)
    load_etherscan_labels(con, shared_data, addresses)
    con.close()
    proc = subprocess.run([*CLI, "trace", "--sources-file", str(folder / "source addresses.csv"), "--chain", "ethereum",
                           "--format", "json"], env=env, check=True, capture_output=True, text=True)
    result = json.loads(proc.stdout)
    terminals = set(_read_addresses(folder / "terminal addresses.csv")) & addresses
    truth_usd = sum(float(r["Value_in_USD"]) for r in rows if r["To"].lower() in terminals)
    ends: dict[str, float] = {}
    for x in result["exits"] + result["resting"]:
        # a deposit address stands for the exchange wallet it sweeps to, which the trace names
        where = x.get("forwarded_to") if x.get("forwarded_to") in terminals else x["address"]
        ends[where] = ends.get(where, 0.0) + (x["usd"] or 0.0)
    found = terminals & set(ends)
    traced_usd = sum(ends[a] for a in found)
    return {
        "case": case,
        "transfers": len(rows),
        "terminals": len(terminals),
        "terminals_found": len(found),
        "terminal_recall": len(found) / len(terminals) if terminals else 1.0,
        "truth_usd": truth_usd,
        "traced_usd": traced_usd,
        "usd_error": abs(traced_usd - truth_usd) / truth_usd if truth_usd else 0.0,
        "end_points": len(ends),
        "missed": sorted(terminals - found),
    }


if __name__ == "__main__":  # python -m tests.cases.mftracer WORKDIR: print the figures for docs/accuracy.md
    import tempfile

    shared = Path(__file__).resolve().parents[2].parent / "shared" / "data"
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
    for c in CASES:
        r = run_case(c, shared, out)
        r.pop("missed")
        print(json.dumps(r))
