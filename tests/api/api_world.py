"""A small theft world stored through the real store: victims drained by one attacker, laundering through
two hops into two exchange deposit addresses, a mixer and an unlabelled address; tags; a stored incident.
Used by the API and browser tests (real DuckDB file, real server)."""

from __future__ import annotations

from datetime import datetime, timedelta

from chainsleuth import store
from chainsleuth.detect.drain import Incident, Victim
from chainsleuth.detect.incidents import save_incidents
from chainsleuth.store.ledger import ensure_chain

WEI = 10**18
T0 = datetime(2024, 3, 1, 12, 0)
USD = 2000.0


def addr(n: int) -> str:
    return "0x" + f"{n:040x}"


def txh(n: int) -> str:
    return "0x" + f"{n:064x}"


ATTACKER, HOP1, HOP2 = addr(0xA1), addr(0xB1), addr(0xB2)
BINANCE_DEP, KRAKEN_DEP, TORNADO, REST = addr(0xE1), addr(0xE2), addr(0xC1), addr(0xD1)
BINANCE_HOT, SANCTIONED, CUSTOMER = addr(0xF1), addr(0x5A), addr(0x77)
VICTIMS = [addr(0x100 + i) for i in range(5)]
INCIDENT_ID = "INC-000000000abc"

TAGS = [
    (BINANCE_DEP, "Binance deposit", "deposit", "binance"),
    (KRAKEN_DEP, "Kraken deposit", "deposit", "kraken"),
    (BINANCE_HOT, "Binance 14", "hot_wallet", "binance"),
    (TORNADO, "Tornado Cash 10 ETH", "mixer", "tornado"),
    (SANCTIONED, "OFAC SDN: Example Co", "sanctioned", None),
]


def transfers() -> list[tuple[int, str, str, int, datetime]]:
    """(tx number, from, to, wei, time) in block order."""
    rows = []
    n = 0
    for i, v in enumerate(VICTIMS):  # funding long before the theft
        n += 1
        rows.append((n, BINANCE_HOT, v, (10 + 5 * i) * WEI, T0 - timedelta(days=60, minutes=-i)))
    for i, v in enumerate(VICTIMS):  # the drain wave
        n += 1
        rows.append((n, v, ATTACKER, (10 + 5 * i) * WEI, T0 + timedelta(minutes=i)))
    # 100 ETH stolen: laundering
    for frm, to, eth, minutes in [
        (ATTACKER, HOP1, 60, 20), (ATTACKER, HOP2, 40, 21),
        (HOP1, BINANCE_DEP, 25, 40), (HOP1, BINANCE_DEP, 5, 41), (HOP1, TORNADO, 30, 42),
        (HOP2, KRAKEN_DEP, 30, 50), (HOP2, REST, 10, 51),
        (BINANCE_DEP, BINANCE_HOT, 30, 90),
        (SANCTIONED, CUSTOMER, 5, 100), (BINANCE_HOT, CUSTOMER, 45, 101),
    ]:
        n += 1
        rows.append((n, frm, to, eth * WEI, T0 + timedelta(minutes=minutes)))
    return rows


def build(db_path) -> None:
    con = store.connect(db_path)
    ensure_chain(con, "ethereum")
    with store.transaction(con):
        for n, frm, to, wei, when in transfers():
            con.execute("INSERT INTO blocks VALUES ('ethereum', ?, ?, NULL, ?, 1)", [n, txh(0x10000 + n), when])
            con.execute("INSERT INTO transactions (chain, hash, block_number, block_time, tx_index, from_address, "
                        "to_address, value, status) VALUES ('ethereum', ?, ?, ?, 0, ?, ?, ?, 1)",
                        [txh(n), n, when, frm, to, wei])
            con.execute("INSERT INTO transfers VALUES ('ethereum', ?, ?, ?, 0, 'native', '', 0, ?, ?, 'ETH', ?, NULL)",
                        [n, when, txh(n), frm, to, wei])
        for day in range(-70, 10):
            con.execute("INSERT INTO prices VALUES ('ETH', ?, ?, 'test')", [(T0 + timedelta(days=day)).date(), USD])
        for a, label, cat, actor in TAGS:
            con.execute("INSERT INTO tags (chain, address, label, category, actor, source, confidence, added_by, "
                        "dataset) VALUES ('ethereum', ?, ?, ?, ?, 'test-world', 1.0, 'test', 'test')",
                        [a, label, cat, actor])
    drains = [r for r in transfers() if r[2] == ATTACKER]
    victims = [Victim(frm, [{"asset": "ETH", "symbol": "ETH", "amount": wei, "balance_before": wei,
                             "usd": wei / WEI * USD, "tx_hashes": [txh(n)]}], wei / WEI * USD, when, when)
               for n, frm, _to, wei, when in drains]
    inc = Incident(
        incident_id=INCIDENT_ID, chain="ethereum", window_start=drains[0][4], window_end=drains[-1][4],
        victims=victims,
        attackers=[{"address": ATTACKER, "role": "recipient", "first_seen": drains[0][4], "victims": len(victims),
                    "tx_hashes": [txh(r[0]) for r in drains]}],
        losses=[{"asset": "ETH", "symbol": "ETH", "amount": 100 * WEI, "usd": 100 * USD}],
        loss_usd=100 * USD, consolidated=False, parameters={"min_victims": 5},
    )
    save_incidents(con, "ethereum", [inc])
    con.close()
