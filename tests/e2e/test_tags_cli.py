"""``chainsleuth tags`` end to end, through the real executable and a real DuckDB file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXE = [sys.executable, "-m", "chainsleuth.cli"]


def run(*args: str, db: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*EXE, *args, "--db", str(db)], capture_output=True, text=True, timeout=180)


def test_import_add_show(tmp_path, shared_data):
    db = tmp_path / "t.duckdb"
    ofac = shared_data / "ofac-0xb10c" / "sanctioned_addresses_XBT.txt"
    lazarus = shared_data / "graphsense-tagpacks" / "packs" / "lazarus.yaml"
    r = run("tags", "import", str(ofac), str(lazarus), "--format", "json", db=db)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert [x["dataset"] for x in res] == ["ofac:XBT", "tagpack:lazarus.yaml"]
    assert res[0]["chains"] == {"bitcoin": 435} and res[1]["tags"] == 21
    again = json.loads(run("tags", "import", str(ofac), "--format", "json", db=db).stdout)
    assert again[0]["replaced"] == 435
    r = run("tags", "add", "0xBE0EB53F46CD790CD13851D5EFF43D12404D33E8", "--label", "Binance 7", "--category",
            "exchange", "--chain", "ethereum", "--actor", "binance", "--source", "case 42", db=db)
    assert r.returncode == 0, r.stderr
    show = json.loads(run("tags", "show", "134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak", "--format", "json", db=db).stdout)
    assert {t["dataset"] for t in show["tags"]} == {"ofac:XBT", "tagpack:lazarus.yaml"}
    best = show["chains"][0]["best"]
    assert show["chains"][0]["chain"] == "bitcoin" and best["category"] == "sanctioned"
    show = json.loads(run("tags", "show", "0xbe0eb53f46cd790cd13851d5eff43d12404d33e8", "--format", "json",
                          db=db).stdout)
    assert show["tags"][0]["source"] == "case 42" and show["chains"][0]["best"]["label"] == "Binance 7"
    text = run("tags", "show", "134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak", db=db)
    assert text.returncode == 0 and "sanctioned" in text.stdout


def test_bad_input_is_one_clear_line(tmp_path):
    db = tmp_path / "t.duckdb"
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: x\ncreator: y\ntags:\n- address: '0x00000000000000000000000000000000000000aa'\n"
                   "  currency: ETH\n  source: s\n")
    r = run("tags", "import", str(bad), db=db)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"{bad}:4" in r.stderr.replace("\n", "") and "label" in r.stderr
    r = run("tags", "add", "0xbE0EB53F46CD790CD13851D5EFF43D12404D33E8", "--label", "x", db=db)
    assert r.returncode == 2 and "checksum" in r.stderr
    r = run("tags", "add", "0xbe0eb53f46cd790cd13851d5eff43d12404d33e8", "--label", "x", "--category", "wizard",
            db=db)
    assert r.returncode == 2 and "unknown category" in r.stderr
    out = json.loads(run("tags", "datasets", "--format", "json", db=db).stdout)
    assert out == []
