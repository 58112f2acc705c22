"""``chainsleuth incidents``, ``case`` and ``attribute`` end to end through the executable: a transfer CSV
with a drain wave hidden in ordinary payments is ingested with ``ingest csv``, then detected and declared."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

EXE = [sys.executable, "-m", "chainsleuth.cli"]
T0 = datetime(2024, 1, 1)
ETH = 10**18


def need_tracer() -> None:
    try:
        from chainsleuth.trace import trace  # noqa: F401
    except ImportError:
        pytest.skip("the tracing layer (chainsleuth.trace.trace) is not installed yet")


def run(*args: str, db: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*EXE, *args, "--db", str(db)], capture_output=True, text=True, timeout=120)


def a(tag: str) -> str:
    return "0x" + hashlib.sha256(tag.encode()).hexdigest()[:40]


def write_world(path: Path) -> dict:
    rng = random.Random(42)
    rows, n = [], 0

    def send(t, src, dst, amount):
        nonlocal n
        n += 1
        rows.append([t.isoformat(sep=" "), n, "0x" + hashlib.sha256(str(n).encode()).hexdigest(), src, dst, amount])

    users = [a(f"u{i}") for i in range(15)]
    for i, u in enumerate(users):
        send(T0 + timedelta(hours=i), a("faucet"), u, rng.randint(5, 40) * ETH)
    for d in range(1, 50):
        x, y = rng.sample(users, 2)
        send(T0 + timedelta(days=d, hours=rng.randint(0, 20)), x, y, rng.randint(1, 100) * 10**16)
    victims = users[:7]
    when = T0 + timedelta(days=45)
    bal = {u: 0 for u in users}
    for r in rows:
        if r[4] in bal:
            bal[r[4]] += r[5]
        if r[3] in bal:
            bal[r[3]] -= r[5]
    rows.sort(key=lambda r: r[0])
    for i, v in enumerate(victims):
        send(when + timedelta(minutes=i), v, a(f"drainer{i % 2}"), bal[v])
    for j in range(2):
        send(when + timedelta(hours=2, minutes=j), a(f"drainer{j}"), a("sink"),
             sum(bal[v] for i, v in enumerate(victims) if i % 2 == j))
    rows.sort(key=lambda r: (r[0], r[1]))
    path.write_text("time,block_number,tx_hash,from_address,to_address,amount\n"
                    + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return {"victims": victims, "attackers": {a("drainer0"), a("drainer1"), a("sink")}}


def test_incidents_and_cases(tmp_path):
    db = tmp_path / "c.duckdb"
    truth = write_world(tmp_path / "transfers.csv")
    r = run("ingest", "csv", str(tmp_path / "transfers.csv"), "--chain", "ethereum", db=db)
    assert r.returncode == 0, r.stderr
    r = run("incidents", "--format", "json", db=db)
    assert r.returncode == 0, r.stderr
    [inc] = json.loads(r.stdout)
    assert {v["address"] for v in inc["victims"]} == set(truth["victims"])
    assert {x["address"] for x in inc["attackers"]} == truth["attackers"]
    assert inc["losses"][0]["asset"] == "ETH" and int(inc["losses"][0]["amount"]) > 0
    assert set(inc) >= {"id", "window", "victims", "attackers", "losses", "loss_usd", "evidence"}
    # stable ids; stored listing; thresholds on the command line
    again = json.loads(run("incidents", "--stored", "--format", "json", db=db).stdout)
    assert [i["id"] for i in again] == [inc["id"]]
    assert json.loads(run("incidents", "--min-victims", "8", "--format", "json", db=db).stdout) == []
    r = run("incidents", db=db)
    assert r.returncode == 0 and "INC-" in r.stdout and "no drain wave" not in r.stdout
    r = run("incidents", "--min-victims", "8", db=db)
    assert r.returncode == 0 and "no drain wave found" in r.stdout

    src = tmp_path / "sources.txt"
    src.write_text("\n".join(truth["victims"][:3]) + "\n")
    r = run("case", "create", "wave", "--sources-file", str(src), "--since", "2024-02-14", "--format", "json", db=db)
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["sources"]) == 3
    shown = json.loads(run("case", "show", "wave", "--format", "json", db=db).stdout)
    assert shown["since"].startswith("2024-02-14") and shown["chain"] == "ethereum"
    src.write_text(truth["victims"][0] + "\nnot-an-address\n")
    r = run("case", "create", "bad", "--sources-file", str(src), db=db)
    assert r.returncode == 2 and "sources.txt:2" in r.stderr and "Traceback" not in r.stderr
    r = run("attribute", "nothing-here", db=db)
    assert r.returncode == 2 and "no incident or case" in r.stderr


@pytest.mark.slow
def test_attribute_ranks_cases_with_reasons(tmp_path):
    need_tracer()
    db = tmp_path / "c.duckdb"
    truth = write_world(tmp_path / "transfers.csv")
    assert run("ingest", "csv", str(tmp_path / "transfers.csv"), "--chain", "ethereum", db=db).returncode == 0
    [inc] = json.loads(run("incidents", "--format", "json", db=db).stdout)
    src = tmp_path / "s.txt"
    src.write_text("\n".join(truth["victims"]) + "\n")
    assert run("case", "create", "declared", "--sources-file", str(src), db=db).returncode == 0
    r = run("attribute", inc["id"], "--format", "json", db=db)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["case"] == inc["id"]
    scores = [c["score"] for c in res["candidates"]]
    assert scores == sorted(scores, reverse=True)
    names = {c["name"] for c in res["candidates"]}
    assert "declared" in names and "atomic-wallet-2023" in names
    assert all({"name", "score", "agree", "disagree"} <= set(c) for c in res["candidates"])
    assert "drain_wave" in res["fingerprint"]["features"]["typology_sequence"]
