"""A small theft as the tracer reports it (``TraceResult.to_dict()`` shape), and its ledger rows."""

from __future__ import annotations

from datetime import datetime, timedelta

T0 = datetime(2024, 3, 1, 12, 0)
WEI = 10**18


def addr(n: int) -> str:
    return "0x" + f"{n:040x}"


def txh(n: int) -> str:
    return "0x" + f"{n:064x}"


ATTACKER, HOP1, HOP2 = addr(0xA1), addr(0xB1), addr(0xB2)
BINANCE_DEP, KRAKEN_DEP, TORNADO, REST = addr(0xE1), addr(0xE2), addr(0xC1), addr(0xD1)
VICTIMS = [addr(0x101), addr(0x102)]

# (tx, hop, from, to, amount in wei, minutes after T0, kind)
EDGES = [
    (1, 1, ATTACKER, HOP1, 60 * WEI, 10, "transfer"),
    (2, 1, ATTACKER, HOP2, 40 * WEI, 11, "transfer"),
    (3, 2, HOP1, BINANCE_DEP, 25 * WEI, 30, "transfer"),
    (4, 2, HOP1, BINANCE_DEP, 5 * WEI, 31, "transfer"),
    (5, 2, HOP1, TORNADO, 30 * WEI, 32, "mixer"),
    (6, 2, HOP2, KRAKEN_DEP, 30 * WEI, 40, "transfer"),
    (7, 2, HOP2, REST, 10 * WEI, 41, "transfer"),
]
USD = 2000.0


def trace_dict() -> dict:
    def usd(wei: int) -> float:
        return wei / WEI * USD

    edges = [
        {"chain": "ethereum", "tx_hash": txh(t), "block_number": 100 + t, "time": (T0 + timedelta(minutes=m)).isoformat(),
         "from": f, "to": to, "asset": "ETH", "amount": str(a), "usd": usd(a), "hop": h, "kind": k}
        for t, h, f, to, a, m, k in EDGES
    ]
    exits = [
        {"address": BINANCE_DEP, "chain": "ethereum", "label": "Binance deposit", "category": "deposit",
         "entity": "Binance", "asset": "ETH", "amount": str(30 * WEI), "usd": usd(30 * WEI),
         "tx_hashes": [txh(3), txh(4)], "hop": 2},
        {"address": KRAKEN_DEP, "chain": "ethereum", "label": "Kraken deposit", "category": "deposit",
         "entity": "Kraken", "asset": "ETH", "amount": str(30 * WEI), "usd": usd(30 * WEI),
         "tx_hashes": [txh(6)], "hop": 2},
        {"address": TORNADO, "chain": "ethereum", "label": "Tornado Cash 10 ETH", "category": "mixer",
         "entity": "Tornado Cash", "asset": "ETH", "amount": str(30 * WEI), "usd": usd(30 * WEI),
         "tx_hashes": [txh(5)], "hop": 2},
    ]
    resting = [{"address": REST, "chain": "ethereum", "asset": "ETH", "amount": str(10 * WEI),
                "usd": usd(10 * WEI), "tx_hashes": [txh(7)]}]
    return {
        "sources": [ATTACKER], "model": "haircut", "direction": "forward",
        "parameters": {"max_hops": 12, "min_value": "0", "after": T0.isoformat()},
        "exits": exits, "edges": edges, "resting": resting,
        "totals": {"exits_usd": usd(90 * WEI), "resting_usd": usd(10 * WEI)},
    }


def incident_dict() -> dict:
    return {
        "id": "INC-0123456789ab", "kind": "drain-wave", "chain": "ethereum",
        "window": {"start": T0, "end": T0 + timedelta(minutes=5)}, "loss_usd": 100 * USD,
        "losses": [{"asset": "ETH", "symbol": "ETH", "amount": str(100 * WEI), "usd": 100 * USD}],
        "victims": [
            {"address": VICTIMS[0], "usd": 70 * USD, "first_drain": T0, "last_drain": T0 + timedelta(minutes=1),
             "assets": [{"asset": "ETH", "symbol": "ETH", "amount": str(70 * WEI), "balance_before": str(70 * WEI),
                         "usd": 70 * USD, "tx_hashes": [txh(0x201)]}]},
            {"address": VICTIMS[1], "usd": 30 * USD, "first_drain": T0, "last_drain": T0 + timedelta(minutes=2),
             "assets": [{"asset": "ETH", "symbol": "ETH", "amount": str(30 * WEI), "balance_before": str(31 * WEI),
                         "usd": 30 * USD, "tx_hashes": [txh(0x202)]}]},
        ],
        "attackers": [{"address": ATTACKER, "role": "recipient", "first_seen": T0, "victims": 2,
                       "tx_hashes": [txh(0x201), txh(0x202)]}],
        "consolidated": False, "evidence": [txh(0x201), txh(0x202)], "parameters": {"min_victims": 2},
    }
