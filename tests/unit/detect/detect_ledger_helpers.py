"""Build small but realistic ledgers directly in a real DuckDB store (SQL inserts into the canonical
tables): a background economy with exchange deposit sweeps and merchants, plus an optional drain wave."""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta

from chainsleuth.store.ledger import ensure_chain

ETH = 10**18
USDT = "0xdac17f958d2ee523a2206206994597c13d831ec7"
T0 = datetime(2024, 1, 1)


def addr(tag: str) -> str:
    return "0x" + hashlib.sha256(tag.encode()).hexdigest()[:40]


class Ledger:
    """Appends transfers (and the sender's fee as a transaction) with unique hashes and block numbers."""

    def __init__(self, con, chain: str = "ethereum"):
        self.con, self.chain = con, chain
        self.rows: list[list] = []
        self.txs: list[list] = []
        self.n = 0
        ensure_chain(con, chain)
        con.execute("INSERT INTO assets VALUES (?, ?, 'USDT', 'Tether USD', 6, ?) ON CONFLICT DO NOTHING",
                    [chain, USDT, USDT])

    def send(self, t: datetime, src: str | None, dst: str, amount: int, asset: str = "ETH", fee: int = 0) -> str:
        self.n += 1
        h = "0x" + hashlib.sha256(f"{self.chain}{self.n}".encode()).hexdigest()
        kind = "native" if asset == "ETH" else "token"
        if src is None:
            kind = "reward"
        self.rows.append([self.chain, self.n, t, h, 0, kind, "" if kind != "token" else "0", 0, src, dst, asset,
                          amount])
        if src is not None:
            self.txs.append([self.chain, h, self.n, t, 0, src, dst if asset == "ETH" else asset,
                             amount if asset == "ETH" else 0, fee, 10**9, 21000, 1])
        return h

    def flush(self) -> None:
        if not self.rows:
            return
        self.con.executemany(
            "INSERT INTO transfers (chain, block_number, block_time, tx_hash, tx_index, kind, position, seq, "
            "from_address, to_address, asset, amount) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self.rows)
        self.con.executemany(
            "INSERT INTO transactions (chain, hash, block_number, block_time, tx_index, from_address, to_address, "
            "value, fee, gas_price, gas_used, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self.txs
        ) if self.txs else None
        self.rows, self.txs = [], []


def tag(con, address: str, label: str, category: str, chain: str = "ethereum") -> None:
    con.execute("INSERT INTO tags (chain, address, label, category, source, added_by) VALUES (?, ?, ?, ?, 'test', "
                "'test')", [chain, address, label, category])


def prices(con, days: int = 120) -> None:
    for d in range(days):
        day = (T0 + timedelta(days=d)).date()
        con.execute("INSERT INTO prices VALUES ('ETH', ?, 2000.0, 'test'), ('USDT', ?, 1.0, 'test')", [day, day])


def background(led: Ledger, rng: random.Random, users: int = 30, days: int = 90) -> list[str]:
    """Users funded by an exchange; they pay each other, pay merchants, and cash out through their own fresh
    deposit addresses that the exchange sweeps to its hot wallet (the false-positive trap)."""
    hot = addr("exchange-hot")
    tag(led.con, hot, "Exchange Hot Wallet", "hot_wallet")
    led.send(T0, None, hot, 10**6 * ETH)
    us = [addr(f"user{i}") for i in range(users)]
    for i, u in enumerate(us):
        led.send(T0 + timedelta(hours=i), hot, u, rng.randint(2, 50) * ETH, fee=10**15)
    merchant = addr("merchant")
    for d in range(2, days):
        t = T0 + timedelta(days=d, hours=rng.randint(0, 20))
        a, b = rng.sample(us, 2)
        led.send(t, a, b, rng.randint(1, 10**3) * 10**15, fee=10**14)
        led.send(t + timedelta(minutes=5), rng.choice(us), merchant, rng.randint(1, 10**3) * 10**14, fee=10**14)
    # 8 users empty their wallets into fresh personal deposit addresses (same hour), swept to the hot wallet
    sweep_day = T0 + timedelta(days=70)
    for i, u in enumerate(us[:8]):
        dep = addr(f"deposit{i}")
        bal = balance(led, u)
        led.flush()
        fee = 10**15
        led.send(sweep_day + timedelta(minutes=i), u, dep, bal - fee, fee=fee)
        led.send(sweep_day + timedelta(hours=2, minutes=i), dep, hot, bal - fee - 10**15, fee=10**15)
    led.flush()
    return us


def balance(led: Ledger, address: str, asset: str = "ETH") -> int:
    led.flush()
    inflow = led.con.execute("SELECT coalesce(sum(amount), 0) FROM transfers WHERE to_address = ? AND asset = ?",
                             [address, asset]).fetchone()[0]
    outflow = led.con.execute("SELECT coalesce(sum(amount), 0) FROM transfers WHERE from_address = ? AND asset = ?",
                              [address, asset]).fetchone()[0]
    fees = 0
    if asset == "ETH":
        fees = led.con.execute("SELECT coalesce(sum(fee), 0) FROM transactions WHERE from_address = ?",
                               [address]).fetchone()[0]
    return int(inflow - outflow - fees)


def drain_wave(led: Ledger, rng: random.Random, name: str, n_victims: int, when: datetime,
               n_recipients: int = 2) -> dict:
    """Long-lived victims (funded 40+ days before) drained of ETH and USDT within minutes into fresh
    attacker addresses, which then consolidate into one fresh address."""
    hot = addr("exchange-hot")
    victims = [addr(f"{name}-victim{i}") for i in range(n_victims)]
    for i, v in enumerate(victims):
        t = when - timedelta(days=40 + i)
        led.send(t, hot, v, rng.randint(1, 30) * ETH + rng.randint(0, 10**17), fee=10**15)
        led.send(t + timedelta(hours=1), addr("usdt-treasury"), v, rng.randint(100, 50_000) * 10**6, asset=USDT)
    led.flush()
    recips = [addr(f"{name}-drainer{j}") for j in range(n_recipients)]
    truth = {"victims": victims, "recipients": recips, "amounts": {}, "txs": set()}
    for i, v in enumerate(victims):
        r = recips[i % n_recipients]
        t = when + timedelta(minutes=3 * i)
        u = balance(led, v, USDT)
        truth["txs"].add(led.send(t, v, r, u, asset=USDT, fee=0))
        eth = balance(led, v)
        fee = 21000 * 5 * 10**9
        truth["txs"].add(led.send(t + timedelta(seconds=30), v, r, eth - fee, fee=fee))
        truth["amounts"][v] = {"ETH": eth - fee, USDT: u}
    led.flush()
    sink = addr(f"{name}-consolidation")
    for j, r in enumerate(recips):
        t = when + timedelta(hours=3, minutes=j)
        led.send(t, r, sink, balance(led, r, USDT), asset=USDT)
        led.send(t + timedelta(minutes=1), r, sink, balance(led, r) - 10**15, fee=10**15)
    led.flush()
    truth["consolidation"] = sink
    return truth
