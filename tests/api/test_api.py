"""REST API against a real uvicorn server over a real DuckDB file."""

from __future__ import annotations

import importlib.util

import api_world as world
import httpx
import pytest
from api_server import Server, create_token


def get(server, path, **kw):
    return httpx.get(server.url + "/api/v1" + path, timeout=30, **kw)


def post(server, path, body, token=None, **kw):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(server.url + "/api/v1" + path, json=body, headers=headers, timeout=60, **kw)


def test_openapi_documents_every_area(server):
    spec = httpx.get(server.url + "/api/openapi.json").json()
    paths = spec["paths"]
    for p in ["/api/v1/info", "/api/v1/chains/{chain}/addresses/{address}", "/api/v1/tags", "/api/v1/trace",
              "/api/v1/incidents", "/api/v1/incidents/{incident_id}/attribution", "/api/v1/screen",
              "/api/v1/watch", "/api/v1/reports", "/api/v1/views"]:
        assert p in paths, p
    assert "requestBody" in paths["/api/v1/screen"]["post"]


def test_info_and_address_profile_exact_amounts(server):
    info = get(server, "/info").json()
    assert [c["chain"] for c in info["chains"]] == ["ethereum"]
    p = get(server, f"/chains/ethereum/addresses/{world.ATTACKER}").json()
    eth = next(a for a in p["assets"] if a["asset"] == "ETH")
    assert eth["received"] == str(100 * world.WEI) and eth["sent"] == str(100 * world.WEI)
    # checksummed input is accepted and normalised
    mixed = "0x" + world.BINANCE_DEP[2:].upper()
    r = get(server, f"/chains/ethereum/addresses/{mixed}")
    assert r.status_code == 200 and r.json()["label"]["category"] == "deposit"


def test_neighbours_pagination(server):
    first = get(server, f"/chains/ethereum/addresses/{world.ATTACKER}/neighbours", params={"limit": 3}).json()
    assert first["total"] == 7 and len(first["items"]) == 3 and first["limit"] == 3
    rest = get(server, f"/chains/ethereum/addresses/{world.ATTACKER}/neighbours",
               params={"limit": 10, "offset": 3}).json()
    assert len(rest["items"]) == 4
    seen = {(i["address"], i["direction"]) for i in first["items"] + rest["items"]}
    assert len(seen) == 7
    assert first["items"][0]["amount"] == str(60 * world.WEI)  # largest first
    assert get(server, "/tags", params={"limit": 5000}).status_code == 422


def test_validation_errors_are_clear(server):
    r = post(server, "/screen", {"addresses": [], "chain": "ethereum"})
    assert r.status_code == 422 and "addresses" in r.json()["error"]
    r = post(server, "/screen", {"addresses": ["0x123"], "chain": "ethereum"})
    assert r.status_code == 400 and "not an EVM address" in r.json()["error"]
    r = post(server, "/screen", {"addresses": [world.CUSTOMER], "chain": "ethereum", "bogus": 1})
    assert r.status_code == 422
    r = get(server, "/chains/nochain/addresses/" + world.CUSTOMER)
    assert r.status_code == 404 and "nochain" in r.json()["error"]
    assert get(server, "/incidents/INC-nope").status_code == 404


def test_screening_endpoint(server):
    r = get(server, f"/screen/ethereum/{world.CUSTOMER}").json()
    assert r["risk"]["level"] == "severe"  # 10% straight from a sanctioned address
    assert r["exposure"]["sanctioned"]["direct"] == pytest.approx(0.1)
    assert world.SANCTIONED in r["risk"]["reasons"][0] and world.txh(19) in r["risk"]["reasons"][0]
    batch = post(server, "/screen", {"addresses": [world.CUSTOMER, world.HOP1], "chain": "ethereum"}).json()
    assert [x["address"] for x in batch["items"]] == [world.CUSTOMER, world.HOP1]
    assert batch["items"][1]["risk"]["level"] == "severe"  # paid entirely by the incident's attacker


def test_writes_need_a_valid_token(server, token):
    body = {"address": world.REST, "chain": "ethereum", "label": "suspect", "category": "hacker"}
    assert post(server, "/tags", body).status_code == 401
    assert post(server, "/tags", body, token="cs_wrong").status_code == 403
    r = post(server, "/tags", body, token=token)
    assert r.status_code == 201, r.text
    tags = get(server, "/tags", params={"address": world.REST}).json()
    assert tags["total"] == 1 and tags["items"][0]["added_by"] == "analyst"
    note = post(server, "/notes", {"address": world.REST, "chain": "ethereum", "note": "peel start"}, token=token)
    assert note.status_code == 201
    prof = get(server, f"/chains/ethereum/addresses/{world.REST}").json()
    assert [n["note"] for n in prof["notes"]] == ["peel start"]


def test_watch_list_endpoints(server, token):
    assert post(server, "/watch", {"addresses": [world.HOP2], "chain": "ethereum"}).status_code == 401
    r = post(server, "/watch", {"addresses": [world.HOP2], "chain": "ethereum", "label": "hop 2"}, token=token)
    assert r.status_code == 201 and r.json()["added"] == [world.HOP2]
    items = get(server, "/watch").json()["items"]
    assert any(i["address"] == world.HOP2 and i["added_by"] == "analyst" for i in items)
    d = httpx.delete(f"{server.url}/api/v1/watch/ethereum/{world.HOP2}", headers={"Authorization": f"Bearer {token}"})
    assert d.status_code == 200
    assert get(server, "/watch").json()["total"] == 0
    assert get(server, "/watch/alerts").json()["items"] == []


def test_incident_with_timeline(server):
    lst = get(server, "/incidents").json()
    assert lst["total"] == 1 and lst["items"][0]["id"] == world.INCIDENT_ID
    d = get(server, f"/incidents/{world.INCIDENT_ID}").json()
    assert len(d["timeline"]) == 5
    assert [p["address"] for p in d["timeline"]] == world.VICTIMS
    assert d["losses"][0]["amount"] == str(100 * world.WEI)


def test_search_classifies(server):
    assert get(server, "/search", params={"q": world.INCIDENT_ID}).json()["kind"] == "incident"
    assert get(server, "/search", params={"q": world.txh(1)}).json() == {
        "kind": "tx", "tx_hash": world.txh(1), "chains": ["ethereum"]}
    assert get(server, "/search", params={"q": world.ATTACKER}).json()["kind"] == "address"
    assert get(server, "/search", params={"q": "a b"}).status_code == 400


def test_saved_views(server, token):
    payload = {"elements": [{"group": "nodes", "data": {"id": "ethereum:" + world.ATTACKER}}]}
    r = post(server, "/views", {"name": "theft graph", "payload": payload}, token=token)
    assert r.status_code == 201
    vid = r.json()["view_id"]
    assert get(server, f"/views/{vid}").json()["payload"] == payload


def test_request_size_limit(server, token):
    big = {"name": "x", "payload": {"blob": "y" * 50_000}}
    r = post(server, "/views", big, token=token)
    assert r.status_code == 413 and "larger than" in r.json()["error"]


def test_report_download_rejects_traversal(server):
    for path in ["/reports/..%2F..%2Fetc/files/passwd", "/reports/x/files/..%2F..%2Fworld.duckdb",
                 "/reports/x/files/%2Fetc%2Fpasswd"]:
        r = httpx.get(server.url + "/api/v1" + path)
        assert r.status_code in (400, 404), path
        assert b"duckdb" not in r.content[:16] and b"root:" not in r.content


@pytest.mark.skipif(importlib.util.find_spec("chainsleuth.trace") is None
                    or not hasattr(importlib.import_module("chainsleuth.trace"), "trace"),
                    reason="chainsleuth.trace not installed yet")
def test_trace_and_report_endpoints(server, token):
    t = post(server, "/trace", {"sources": [world.ATTACKER], "chain": "ethereum", "after": "2024-03-01T12:00:00"})
    assert t.status_code == 200, t.text
    exits = {x["address"] for x in t.json()["exits"]}
    assert {world.BINANCE_DEP, world.KRAKEN_DEP} <= exits
    r = post(server, "/reports", {"subject": world.INCIDENT_ID}, token=token)
    assert r.status_code == 201, r.text
    html = httpx.get(server.url + r.json()["html"])
    assert html.status_code == 200 and "Freeze requests" in html.text


def test_auth_reads_and_rate_limit(tmp_path):
    db = tmp_path / "second.duckdb"  # a second server needs its own file (DuckDB: one writing process)
    world.build(db)
    token = create_token(db, "reader")
    # 12 per minute: a burst of 3, then one request per 5 s. The limit must bite however slow the machine is
    # (a limit of 1/s let requests through again on a loaded CI runner, where each one took about a second).
    s = Server(db, auth_reads=True, rate_limit=12)
    try:
        assert get(s, "/info").status_code == 401
        ok = get(s, "/info", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200
        replies = [get(s, "/info", headers={"Authorization": f"Bearer {token}"}) for _ in range(30)]
        limited = [r for r in replies if r.status_code == 429]
        assert limited, [r.status_code for r in replies]
        assert {r.status_code for r in replies} <= {200, 429}
        assert all(int(r.headers["retry-after"]) >= 1 for r in limited)
    finally:
        s.stop()
