"""Writing a report folder: the HTML, the JSON of the same content, CSV tables, freeze requests per
exchange, the victim list, GraphML and STIX 2.1. Files are written to a temporary folder and renamed into
place, so a failed run never leaves a half-written report."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from chainsleuth.jsonable import to_jsonable
from chainsleuth.report.graphml import to_graphml
from chainsleuth.report.html import render_html
from chainsleuth.report.stix import to_stix


def _json(obj: Any) -> str:
    return json.dumps(to_jsonable(obj), indent=2) + "\n"


def _csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: _cell(r.get(k)) for k in columns})
    return buf.getvalue()


def _cell(v: Any) -> Any:
    if isinstance(v, list | tuple):
        return ";".join(str(x) for x in v)
    if isinstance(v, dict):
        return json.dumps(to_jsonable(v))
    return "" if v is None else to_jsonable(v)


def slug(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()
    return s[:60] or "entity"


EXIT_COLUMNS = ["address", "chain", "label", "entity", "category", "group", "hop", "asset", "amount", "display",
                "usd", "tx_hashes"]
EDGE_COLUMNS = ["hop", "chain", "block_number", "time", "tx_hash", "from", "to", "asset", "amount", "display",
                "usd", "kind"]
FREEZE_COLUMNS = ["entity", "chain", "deposit_address", "label", "tx_hash", "time", "block_number", "from",
                  "asset", "amount", "display", "usd"]
RESTING_COLUMNS = ["address", "chain", "asset", "amount", "display", "usd", "tx_hashes"]
VICTIM_COLUMNS = ["address", "chain", "asset", "amount", "display", "usd", "first_drain", "last_drain",
                  "tx_hashes"]


def render_files(content: dict[str, Any]) -> dict[str, str | bytes]:
    """Relative path -> file content for every file of the report folder."""
    files: dict[str, str | bytes] = {
        "report.html": render_html(content),
        "report.json": _json(content),
        "exits.csv": _csv(content["exits"], EXIT_COLUMNS),
        "edges.csv": _csv(content["edges"], EDGE_COLUMNS),
        "resting.csv": _csv(content["resting"], RESTING_COLUMNS),
        "freeze_requests.csv": _csv([r for f in content["freeze_requests"] for r in f["rows"]], FREEZE_COLUMNS),
        "freeze_requests.json": _json(content["freeze_requests"]),
        "victims.json": _json(content["victims"]),
        "victims.csv": _csv(
            [{**v, **t} for v in content["victims"] for t in v["taken"]], VICTIM_COLUMNS),
        "case.graphml": to_graphml(content),
        "stix-bundle.json": _json(to_stix(content)),
    }
    used: set[str] = set()
    for f in content["freeze_requests"]:
        name = slug(f["entity"])
        while name in used:
            name += "-x"
        used.add(name)
        files[f"freeze_requests/{name}.csv"] = _csv(f["rows"], FREEZE_COLUMNS)
        files[f"freeze_requests/{name}.json"] = _json(f)
    return files


def write_report(content: dict[str, Any], out_dir: str | Path) -> dict[str, Any]:
    """Write every report file into ``out_dir`` (replacing a previous report there); returns the paths."""
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    files = render_files(content)
    tmp = Path(tempfile.mkdtemp(prefix=".report-", dir=out.parent))
    try:
        for rel, data in files.items():
            p = tmp / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, bytes):
                p.write_bytes(data)
            else:
                p.write_text(data, encoding="utf-8")
        if out.exists():
            old = out.with_name(out.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {"dir": str(out), "html": str(out / "report.html"), "files": sorted(files)}
