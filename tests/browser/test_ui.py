"""The web UI in Debian's chromium (Playwright, no downloaded browser) against the real server on the test
world: search, expand a node, trace, compare the exit points shown with the API, incident dashboard, tags."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
import api_world as world  # noqa: E402
from api_server import Server, create_token  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VENDOR = Path(__file__).resolve().parents[2] / "src/chainsleuth/web/static/vendor/cytoscape.min.js"


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium not installed (scripts/setup-web.sh installs it)")
    if not VENDOR.exists():
        pytest.skip("cytoscape not vendored (run scripts/setup-web.sh)")
    from playwright.sync_api import sync_playwright

    db = tmp_path_factory.mktemp("ui") / "world.duckdb"
    world.build(db)
    token = create_token(db, "browser")
    server = Server(db, rate_limit=0)
    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(server.url) or r.url.startswith("data:")
            else errors.append("external request: " + r.url))
    yield server, page, token, errors
    browser.close()
    pw.stop()
    server.stop()


def nodes(page) -> set[str]:
    return set(page.evaluate("cy.nodes().map(n => n.data('address'))"))


def test_search_expand_trace_matches_api(ui):
    server, page, _token, errors = ui
    page.goto(server.url + "/ui/")
    page.wait_for_selector("body[data-ready='1']")
    page.fill("#search", world.ATTACKER)
    page.click("#search-form button[type=submit]")
    page.wait_for_function("cy.nodes().length >= 8")
    first = nodes(page)
    assert {world.ATTACKER, world.HOP1, world.HOP2, *world.VICTIMS} <= first
    assert "Details" in page.inner_text("#details")
    # expand a neighbour: its counterparties appear
    page.evaluate(f"cy.getElementById('ethereum:{world.HOP1}').emit('tap')")
    page.wait_for_function("!document.querySelector('#btn-expand').disabled")
    page.click("#btn-expand")
    page.wait_for_function(f"cy.nodes().length > {len(first)}")
    assert {world.BINANCE_DEP, world.TORNADO} <= nodes(page)
    edge_label = page.evaluate(f"cy.getElementById('e:ethereum:{world.HOP1}>{world.BINANCE_DEP}:ETH').data('label')")
    assert edge_label == "30 ETH"  # two transfers (25 + 5 ETH) aggregated by the API
    # trace from the attacker and compare the exit points with the API
    page.evaluate(f"cy.getElementById('ethereum:{world.ATTACKER}').emit('tap')")
    page.click("#btn-trace")
    page.wait_for_selector("#exits tr.exit-row")
    shown = {(r["address"], r["amount"]) for r in page.eval_on_selector_all(
        "#exits tr.exit-row", "rows => rows.map(r => ({address: r.dataset.address, amount: r.dataset.amount}))")}
    api = httpx.post(server.url + "/api/v1/trace", json={"sources": [world.ATTACKER], "chain": "ethereum",
                                                          "model": "haircut", "max_hops": 12}, timeout=60).json()
    assert shown == {(x["address"], x["amount"]) for x in api["exits"]}
    assert (world.BINANCE_DEP, str(30 * world.WEI)) in shown
    assert "Binance" in page.inner_text("#exits") or "binance" in page.inner_text("#exits")
    assert page.evaluate(f"cy.getElementById('ethereum:{world.KRAKEN_DEP}').hasClass('exit')")
    traced = page.evaluate(f"cy.getElementById('e:ethereum:{world.HOP1}>{world.BINANCE_DEP}:ETH:t').data('amount')")
    assert traced == str(30 * world.WEI)  # tainted edges of one link summed exactly (BigInt)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-trace.png"))
    assert not errors, errors


def test_incident_dashboard_timeline(ui):
    server, page, _token, errors = ui
    page.goto(server.url + f"/ui/#incident={world.INCIDENT_ID}")
    page.wait_for_selector("svg.timeline rect")
    assert page.locator("svg.timeline rect").count() == len(world.VICTIMS)
    text = page.inner_text("#incident-panel")
    assert "5 victims" in text and "$200,000" in text
    page.click("#btn-trace-incident")
    page.wait_for_selector("#exits tr.exit-row")
    assert page.locator("#exits tr.exit-row").count() == 3
    page.screenshot(path=str(ARTIFACTS / "ui-incident.png"))
    assert not errors, errors


def test_add_tag_with_token(ui):
    server, page, token, errors = ui
    page.goto(server.url + "/ui/")
    page.wait_for_selector("body[data-ready='1']")
    page.fill("#search", world.REST)
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#tag-form")
    page.fill("#token", token)
    page.dispatch_event("#token", "change")
    page.fill("#tag-form input[name=label]", "peel wallet")
    page.select_option("#tag-form select[name=category]", "hacker")
    page.click("#tag-form button")
    page.wait_for_function("document.querySelector('#tag-list')?.innerText.includes('peel wallet')")
    tags = httpx.get(server.url + "/api/v1/tags", params={"address": world.REST}).json()["items"]
    assert [(t["label"], t["added_by"]) for t in tags] == [("peel wallet", "browser")]
    assert not errors, errors
