"""API security against a real uvicorn server over a real DuckDB file.

Every parameter of every operation in the server's own OpenAPI spec gets SQL-injection and path-traversal
strings (tests/reliability/api_attack.py), sent with a valid token so that they reach the handlers: no 5xx, 4xx
wherever the parameter names a chain, address, hash, id, enum or number, and the database's query results are
unchanged afterwards. Free-text fields (labels, notes, names) are stored literally: proved by reading them back.
Writes without a token get 401, with a wrong one 403; a chunked body over the limit gets 413; the server binds
to 127.0.0.1 unless told otherwise. (Rate limit 429 and declared-size 413: tests/api/test_api.py.)
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
import api_world as world  # noqa: E402
from api_attack import PAYLOADS, attacks  # noqa: E402
from api_server import Server, create_token, free_port  # noqa: E402

from chainsleuth import store  # noqa: E402

VALID = {"chain": "ethereum", "address": world.ATTACKER, "tx_hash": world.txh(1), "incident_id": world.INCIDENT_ID,
         "name": "none", "report_id": "x", "view_id": 1, "q": world.ATTACKER, "direction": "both", "limit": 5,
         "offset": 0, "category": "deposit", "severity": "high", "hops": 2, "as_of": "2024-03-02T00:00:00"}
BODIES = {"/api/v1/tags": {"address": world.REST, "chain": "ethereum", "label": "x", "category": "hacker"},
          "/api/v1/notes": {"address": world.REST, "chain": "ethereum", "note": "n"},
          "/api/v1/trace": {"sources": [world.ATTACKER], "chain": "ethereum", "max_hops": 2},
          "/api/v1/screen": {"addresses": [world.CUSTOMER], "chain": "ethereum"},
          "/api/v1/watch": {"addresses": [world.HOP2], "chain": "ethereum"},
          "/api/v1/reports": {"subject": world.INCIDENT_ID},
          "/api/v1/views": {"name": "v", "payload": {"a": 1}}}


#: Derived caches a read may build (the trace index, migration 0200): not data, rebuilt from the ledger.
DERIVED = {"trace_nodes", "trace_edges", "trace_assets", "trace_index_state"}


def snapshot(db: Path) -> dict[str, list]:
    """Every table's rows (sorted reprs): the database's query results, read with the server stopped."""
    con = store.connect(db)
    try:
        return {t: sorted(map(repr, con.execute(f'SELECT * FROM "{t}"').fetchall())) for t in store.tables(con)
                if t not in DERIVED}
    finally:
        con.close()


@pytest.fixture(scope="module")
def world_db(tmp_path_factory) -> tuple[Path, str]:
    db = tmp_path_factory.mktemp("sec") / "world.duckdb"
    world.build(db)
    return db, create_token(db, "analyst")


@pytest.fixture(scope="module")
def spec(world_db) -> dict:
    s = Server(world_db[0], rate_limit=0)
    try:
        return httpx.get(s.url + "/api/openapi.json").json()
    finally:
        s.stop()


def test_injection_and_traversal_in_every_parameter(world_db, spec):
    db, token = world_db
    before = snapshot(db)
    every = list(attacks(spec, VALID, BODIES))
    with_params = {(m.upper(), p) for p, ops in spec["paths"].items() for m, op in ops.items()
                   if op.get("parameters") or op.get("requestBody")}
    assert {(a.method, a.template) for a in every} == with_params and len(with_params) >= 25
    cases = [a for a in every if not a.free_text]
    s = Server(db, rate_limit=0)
    codes: Counter[int] = Counter()
    bad = []
    try:
        with httpx.Client(base_url=s.url, timeout=60, headers={"Authorization": f"Bearer {token}"}) as c:
            for a in cases:
                r = c.request(a.method, a.url, params=a.params, json=a.body)
                codes[r.status_code] += 1
                if not 400 <= r.status_code < 500 or b"root:" in r.content or b"DUCK" in r.content[:16]:
                    bad.append((a.method, a.url, a.params, a.target, a.payload, r.status_code, r.text[:200]))
    finally:
        log = s.stop()
    print(f"{len(cases)} attacks: {dict(sorted(codes.items()))}")
    assert not bad, bad[:5]
    assert "Traceback" not in log
    assert snapshot(db) == before


def test_free_text_is_stored_literally(world_db, spec):
    db, token = world_db
    before = snapshot(db)
    cases = [a for a in attacks(spec, VALID, BODIES) if a.free_text]
    assert {a.target for a in cases} >= {"body:label", "body:note", "body:name", "body:actor"}
    s = Server(db, rate_limit=0)
    try:
        with httpx.Client(base_url=s.url, timeout=60, headers={"Authorization": f"Bearer {token}"}) as c:
            for a in cases:
                r = c.request(a.method, a.url, params=a.params, json=a.body)
                assert r.status_code in (200, 201) or 400 <= r.status_code < 500, (a.target, a.payload, r.text)
    finally:
        s.stop()
    after = snapshot(db)
    # Tables with no free-text writes are untouched; the written ones hold each payload verbatim.
    written = {"tags", "address_notes", "watchlist", "watch_state", "case_views", "loads"}
    assert {t: v for t, v in after.items() if t not in written} == {t: v for t, v in before.items() if t not in written}
    con = store.connect(db)
    try:
        labels = {r[0] for r in con.execute("SELECT label FROM tags").fetchall()}
        notes = {r[0] for r in con.execute("SELECT note FROM address_notes").fetchall()}
        views = {r[0] for r in con.execute("SELECT name FROM case_views").fetchall()}
        assert set(PAYLOADS) <= labels and set(PAYLOADS) <= notes and set(PAYLOADS) <= views
        assert con.execute("SELECT count(*) FROM transfers").fetchone()[0] == len(world.transfers())
    finally:
        con.close()


def test_every_write_needs_a_valid_token(world_db, spec):
    db, token = world_db
    before = snapshot(db)
    reads = {("POST", "/api/v1/trace"), ("POST", "/api/v1/screen")}  # queries with a body: no token needed
    writes = [(m.upper(), p) for p, ops in spec["paths"].items() for m in ops
              if m in ("post", "put", "patch", "delete") and (m.upper(), p) not in reads]
    assert len(writes) == 6
    s = Server(db, rate_limit=0)
    try:
        for method, template in writes:
            url = s.url + template.replace("{chain}", "ethereum").replace("{address}", world.HOP2)
            body = BODIES.get(template)
            for headers, want in (({}, 401), ({"Authorization": "Bearer cs_forged"}, 403),
                                  ({"Authorization": f"Basic {token}"}, 401), ({"Authorization": token}, 401)):
                r = httpx.request(method, url, json=body, headers=headers, timeout=30)
                assert r.status_code == want, (method, template, headers, r.status_code, r.text)
    finally:
        s.stop()
    assert snapshot(db) == before


def test_chunked_body_over_the_limit_is_413(world_db):
    db, token = world_db
    s = Server(db, rate_limit=0, max_body=20_000)
    try:
        def chunks():
            yield b'{"name": "big", "payload": {"blob": "'
            for _ in range(50):
                yield b"y" * 1000
            yield b'"}}'
        r = httpx.post(s.url + "/api/v1/views", content=chunks(), timeout=30,
                       headers={"Authorization": f"Bearer {token}", "content-type": "application/json"})
        assert r.status_code == 413 and "larger than" in r.json()["error"]
    finally:
        s.stop()


def _non_loopback_ip() -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.connect(("10.255.255.255", 1))  # no packet is sent: this only picks the outgoing interface
            ip = u.getsockname()[0]
    except OSError:
        return None
    return None if ip.startswith("127.") else ip


def test_server_binds_loopback_by_default(tmp_path):
    db = tmp_path / "bind.duckdb"
    store.connect(db).close()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "chainsleuth.cli", "serve", "--db", str(db), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        ip = _non_loopback_ip()
        if ip is None:
            pytest.skip("no non-loopback interface to check from")
        with socket.socket() as sock:
            sock.settimeout(2)
            assert sock.connect_ex((ip, port)) != 0, f"server reachable on {ip}:{port} without --host"
    finally:
        proc.terminate()
        proc.wait(10)


def test_integers_beyond_the_store_are_4xx_not_5xx(world_db):
    """Found by schemathesis: an offset or block number beyond BIGINT reached DuckDB and gave a 500."""
    db, token = world_db
    big = 10**30
    s = Server(db, rate_limit=0)
    try:
        with httpx.Client(base_url=s.url + "/api/v1", timeout=60, headers={"Authorization": f"Bearer {token}"}) as c:
            for method, url, kw in [
                ("GET", "/tags", {"params": {"offset": big}}), ("GET", "/incidents", {"params": {"offset": big}}),
                ("GET", f"/chains/ethereum/addresses/{world.ATTACKER}/neighbours", {"params": {"offset": big}}),
                ("GET", f"/views/{big}", {}), ("GET", f"/screen/ethereum/{world.CUSTOMER}", {"params": {"hops": big}}),
                ("POST", "/watch", {"json": {"addresses": [world.HOP2], "chain": "ethereum", "from_block": big}}),
                ("POST", "/trace", {"json": {"sources": [world.ATTACKER], "chain": "ethereum", "max_hops": big}}),
            ]:
                r = c.request(method, url, **kw)
                assert 400 <= r.status_code < 500, (method, url, r.status_code, r.text[:200])
    finally:
        assert "Traceback" not in s.stop()
