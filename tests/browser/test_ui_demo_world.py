"""The web UI on the demo world (the simulated small world `make demo` uses): open the detected drain-wave
incident, trace its stolen funds, and check that the exit points shown equal the API's and reach exchanges."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from api_server import Server  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VENDOR = Path(__file__).resolve().parents[2] / "src/chainsleuth/web/static/vendor/cytoscape.min.js"


def cli(db: Path, *args: str) -> str:
    r = subprocess.run([sys.executable, "-m", "chainsleuth.cli", *args, "--db", str(db)], capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def test_demo_incident_traced_to_exchanges_in_the_ui(small_world, tmp_path):
    if not Path(CHROMIUM).exists() or not VENDOR.exists():
        pytest.skip("Debian chromium / vendored cytoscape missing (scripts/setup-web.sh installs them)")
    from playwright.sync_api import sync_playwright

    db = tmp_path / "demo.duckdb"
    cli(db, "ingest", "etl", str(small_world / "ethereum"), "--chain", "ethereum")
    cli(db, "ingest", "etl", str(small_world / "bitcoin"), "--chain", "bitcoin")
    cli(db, "prices", "import", str(small_world / "prices.csv"))
    cli(db, "tags", "import", str(small_world / "tags.yaml"))
    incidents = json.loads(cli(db, "incidents", "--format", "json"))
    incidents = incidents["incidents"] if isinstance(incidents, dict) else incidents
    top = incidents[0]["id"]
    server = Server(db, rate_limit=0)
    try:
        pw = sync_playwright().start()
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server.url + f"/ui/#incident={top}")
        page.wait_for_selector("#btn-trace-incident")
        page.click("#btn-trace-incident")
        page.wait_for_selector("#exits tr.exit-row", timeout=120_000)
        shown = {(r["address"], r["amount"]) for r in page.eval_on_selector_all(
            "#exits tr.exit-row", "rows => rows.map(r => ({address: r.dataset.address, amount: r.dataset.amount}))")}
        inc = httpx.get(f"{server.url}/api/v1/incidents/{top}", timeout=60).json()
        recipients = [a["address"] for a in inc["attackers"] if a["role"] == "recipient"] or \
            [a["address"] for a in inc["attackers"]]
        api = httpx.post(f"{server.url}/api/v1/trace", timeout=300, json={
            "sources": recipients, "chain": inc["chain"], "model": "haircut", "max_hops": 12,
            "after": inc["window"]["start"]}).json()
        assert shown == {(x["address"], x["amount"]) for x in api["exits"]}
        # amounts on other chains (the bridge into Bitcoin) are scaled by that chain's decimals: no row can
        # show more bitcoin than will ever exist
        for text in page.eval_on_selector_all("#exits tr.exit-row", "rows => rows.map(r => r.innerText)"):
            for amount in re.findall(r"([0-9][0-9,.]*) BTC", text):
                assert float(amount.replace(",", "")) < 21_000_000, text
        categories = {x["category"] for x in api["exits"]}
        assert categories & {"exchange", "deposit", "hot_wallet", "otc"}, categories
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "ui-demo-incident.png"))
        assert not errors, errors
        browser.close()
        pw.stop()
    finally:
        server.stop()
