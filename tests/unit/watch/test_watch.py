"""Watch-lists: alerts on new blocks, propagation along peel chains, webhook delivery to a real local server."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from chainsleuth import store, watch
from chainsleuth.errors import NotFoundError
from chainsleuth.store.ledger import ensure_chain

T0 = datetime(2024, 1, 1)
WEI = 10**18


def A(n: int) -> str:
    return "0x" + f"{n:040x}"


ATTACKER, P1, P2, DEPOSIT, MIXER = A(1), A(2), A(3), A(5), A(6)


def pay(con, n: int, frm: str, to: str, eth: int, block: int) -> None:
    when = T0 + timedelta(minutes=block)
    con.execute("INSERT INTO blocks VALUES ('ethereum', ?, ?, NULL, ?, 1) ON CONFLICT DO NOTHING",
                [block, "0x" + f"{0x9000 + block:064x}", when])
    con.execute("INSERT INTO transfers VALUES ('ethereum', ?, ?, ?, 0, 'native', '', 0, ?, ?, 'ETH', ?, NULL)",
                [block, when, "0x" + f"{n:064x}", frm, to, eth * WEI])


@pytest.fixture
def ledger(con):
    ensure_chain(con, "ethereum")
    con.execute("INSERT INTO tags (chain, address, label, category, source, added_by) VALUES "
                "('ethereum', ?, 'Binance deposit', 'deposit', 't', 't'), ('ethereum', ?, 'Tornado', 'mixer', 't', 't')",
                [DEPOSIT, MIXER])
    pay(con, 1, A(0x99), ATTACKER, 100, 1)  # history before the watch starts
    pay(con, 2, ATTACKER, A(0x98), 1, 2)
    return con


def test_alerts_only_for_new_blocks_and_once(ledger):
    res = watch.add(ledger, [ATTACKER], "ethereum", label="Ronin attacker", case_id="INC-1")
    assert res["watching_after_block"] == 2
    assert watch.check(ledger) == []  # block 2's move happened before the watch
    pay(ledger, 3, ATTACKER, P1, 40, 3)
    pay(ledger, 4, ATTACKER, MIXER, 10, 3)
    pay(ledger, 5, P1, DEPOSIT, 40, 4)  # P1 not watched: no alert without propagation
    alerts = watch.check(ledger)
    assert [(a["to_address"], a["severity"]) for a in alerts] == [(P1, "medium"), (MIXER, "high")]
    assert alerts[0]["amount"] == str(40 * WEI) and alerts[0]["amount_display"] == "40 ETH"
    assert alerts[0]["watch_label"] == "Ronin attacker" and alerts[0]["case_id"] == "INC-1"
    assert watch.check(ledger) == []
    assert ledger.execute("SELECT last_block FROM watch_state").fetchone()[0] == 4


def test_propagation_follows_peel_chain_to_exchange(ledger):
    watch.add(ledger, [ATTACKER], "ethereum", label="attacker")
    pay(ledger, 3, ATTACKER, P1, 40, 3)
    pay(ledger, 4, P1, P2, 39, 4)
    pay(ledger, 5, P2, DEPOSIT, 39, 5)
    pay(ledger, 6, P2, A(0x55), 1, 2)  # before P2 was tainted (block 2 < 4): not an alert
    alerts = watch.check(ledger, propagate=True)
    assert [(a["from_address"], a["to_address"], a["severity"]) for a in alerts] == [
        (ATTACKER, P1, "medium"), (P1, P2, "medium"), (P2, DEPOSIT, "critical")]
    assert "request a freeze" in alerts[-1]["reason"]
    rows, total = watch.entries(ledger)
    prop = {r["address"]: r for r in rows if r["source"] == "propagated"}
    assert set(prop) == {P1, P2} and DEPOSIT not in prop  # services are not auto-watched
    assert prop[P2]["parent_address"] == P1 and prop[P2]["label"] == "tainted by attacker"


def test_from_block_backfills_and_remove(ledger):
    watch.add(ledger, [ATTACKER], "ethereum", from_block=2)
    (a,) = watch.check(ledger)
    assert a["block_number"] == 2
    watch.remove(ledger, ATTACKER, "ethereum")
    with pytest.raises(NotFoundError):
        watch.remove(ledger, ATTACKER, "ethereum")
    assert watch.entries(ledger)[1] == 0


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_run_posts_alerts_to_a_webhook_and_prints_json_lines(db_path):
    con = store.connect(db_path)
    ensure_chain(con, "ethereum")
    con.execute("INSERT INTO tags (chain, address, label, category, source, added_by) "
                "VALUES ('ethereum', ?, 'Binance deposit', 'deposit', 't', 't')", [DEPOSIT])
    watch.add(con, [ATTACKER], "ethereum")
    pay(con, 1, ATTACKER, DEPOSIT, 7, 1)
    con.close()
    srv = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    _Receiver.received.clear()
    stream = io.StringIO()
    try:
        n = watch.run(str(db_path), once=True, webhook=f"http://127.0.0.1:{srv.server_port}/hook", stream=stream)
    finally:
        srv.shutdown()
    assert n == 1
    line = json.loads(stream.getvalue())
    assert line["severity"] == "critical" and line["webhook_status"] == "ok"
    assert _Receiver.received[0]["alert"]["tx_hash"] == line["tx_hash"]
    con = store.connect(db_path)
    assert con.execute("SELECT webhook_status FROM watch_alerts").fetchall() == [("ok",)]
    # a receiver that is down: the alert is still raised, the failure recorded
    pay(con, 2, ATTACKER, DEPOSIT, 1, 2)
    con.close()
    stream = io.StringIO()
    watch.run(str(db_path), once=True, webhook=f"http://127.0.0.1:{srv.server_port}/hook", stream=stream)
    assert json.loads(stream.getvalue())["webhook_status"].startswith("error")


def test_cli_watch_add_and_run_once(db_path):
    con = store.connect(db_path)
    ensure_chain(con, "ethereum")
    con.close()
    cli = [sys.executable, "-m", "chainsleuth.cli"]
    subprocess.run([*cli, "watch", "add", ATTACKER, "--label", "thief", "--db", str(db_path)], check=True,
                   capture_output=True)
    con = store.connect(db_path)
    pay(con, 1, ATTACKER, P1, 3, 1)
    con.close()
    r = subprocess.run([*cli, "watch", "run", "--once", "--db", str(db_path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    alert = json.loads(r.stdout.strip().splitlines()[0])
    assert alert["to_address"] == P1 and alert["amount"] == str(3 * WEI)
    assert "ALERT MEDIUM" in r.stderr
    bad = subprocess.run([*cli, "watch", "run", "--once", "--webhook", "ftp://x", "--db", str(db_path)],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "webhook URL" in bad.stderr
