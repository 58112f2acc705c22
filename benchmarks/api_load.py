"""API load benchmark: 50 concurrent clients for 30 s on loopback against a real `chainsleuth serve` process,
mixing screening (GET /screen) and tracing (POST /trace) requests over the test world.

Prints p50/p99 latency, throughput and errors for our server side by side with a baseline measured in the
same run: the cheapest endpoint of the same server (GET /api/openapi.json, served from memory), which is the
floor that HTTP + uvicorn + FastAPI impose on this machine. Writes benchmarks/results/api_load.json.

    .venv/bin/python benchmarks/api_load.py [--clients 50] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "api"))
import api_world as world  # noqa: E402
from api_server import Server  # noqa: E402


async def _client(url: str, stop: float, requests: list, lat: list[float], errors: list[str]) -> None:
    i = 0
    async with httpx.AsyncClient(timeout=30) as c:
        while time.monotonic() < stop:
            method, path, body = requests[i % len(requests)]
            i += 1
            t = time.perf_counter()
            try:
                r = await (c.post(url + path, json=body) if method == "POST" else c.get(url + path))
                if r.status_code != 200:
                    errors.append(f"{r.status_code} {path}")
            except httpx.HTTPError as exc:
                errors.append(f"{type(exc).__name__} {path}")
            lat.append(time.perf_counter() - t)


def run_load(url: str, requests: list, clients: int, seconds: float) -> dict:
    lat: list[float] = []
    errors: list[str] = []

    async def main() -> None:
        stop = time.monotonic() + seconds
        await asyncio.gather(*(_client(url, stop, requests, lat, errors) for _ in range(clients)))

    t0 = time.monotonic()
    asyncio.run(main())
    wall = time.monotonic() - t0
    lat.sort()
    q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else [lat[0]] * 99
    return {"requests": len(lat), "errors": len(errors), "error_kinds": sorted(set(errors))[:10],
            "rps": len(lat) / wall, "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000, "max_ms": lat[-1] * 1000}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "world.duckdb"
        world.build(db)
        server = Server(db, rate_limit=0)
        try:
            mixed = [
                ("GET", f"/api/v1/screen/ethereum/{world.CUSTOMER}", None),
                ("POST", "/api/v1/trace", {"sources": [world.ATTACKER], "chain": "ethereum", "max_hops": 12}),
                ("GET", f"/api/v1/screen/ethereum/{world.HOP2}?hops=3", None),
                ("POST", "/api/v1/screen", {"addresses": [world.CUSTOMER, world.HOP1, world.REST], "chain": "ethereum"}),
            ]
            for method, path, body in mixed:  # warm-up: one of each (the tracer builds its index on first use)
                httpx.request(method, server.url + path, json=body, timeout=120)
            ours = run_load(server.url, mixed, args.clients, args.seconds)
            base = run_load(server.url, [("GET", "/api/openapi.json", None)], args.clients, min(args.seconds, 10))
        finally:
            server.stop()
    result = {"benchmark": "api_load", "clients": args.clients, "seconds": args.seconds,
              "screen_and_trace": ours, "baseline_openapi_static": base,
              "note": "baseline = same server's cheapest endpoint, same run, same machine"}
    print(f"{'':28}{'screen+trace':>16}{'baseline (openapi)':>22}")
    for k in ("requests", "errors", "rps", "p50_ms", "p99_ms", "max_ms"):
        print(f"{k:28}{ours[k]:>16.1f}{base[k]:>22.1f}")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "api_load.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out / 'api_load.json'}")


if __name__ == "__main__":
    main()
