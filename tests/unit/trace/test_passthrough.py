"""Same-transaction pass-through from one service to another (bridge inbox -> bridge, router -> exchange)."""

from __future__ import annotations

from tests.unit.trace.ledger import ETH, Ledger, addr

from chainsleuth.trace import trace

V1, A, INBOX, BRIDGE, ROUTER, HOT, OTHER, POOL = (addr(n) for n in
                                                  ["V1", "A", "INBOX", "BRIDGE", "ROUTER", "HOT", "OTHER", "POOL"])


def test_inbox_forwarding_to_its_bridge_ends_at_the_bridge(con):
    led = Ledger(con)
    led.send(10, V1, A, 10 * ETH)
    tx = led.send(11, A, INBOX, 10 * ETH)
    led.send(11, INBOX, BRIDGE, 10 * ETH, tx=tx)
    led.tag(INBOX, "Arbitrum: Delayed Inbox", "bridge")
    led.tag(BRIDGE, "Arbitrum: Bridge", "bridge")
    led.price("ETH", 3000.0)
    led.commit()
    r = trace(con, [A], "ethereum")
    [ex] = r.exits
    assert ex.address == BRIDGE and ex.amount == 10 * ETH and ex.tx_hashes == [tx] and ex.hop == 2
    assert {(e.from_, e.to, e.amount) for e in r.edges} == {(A, INBOX, 10 * ETH), (INBOX, BRIDGE, 10 * ETH)}
    [row] = [x for x in r.totals["by_asset"] if x["asset"] == "ETH"]
    assert row["in_services"] == 10 * ETH and row["source"] == 10 * ETH


def test_router_paying_an_exchange_apportions_by_the_tainted_share(con):
    """Stolen and clean value enter a router in one transaction; it pays the exchange and keeps a fee."""
    led = Ledger(con)
    led.send(10, V1, A, 4 * ETH)
    tx = led.send(11, A, ROUTER, 4 * ETH)
    led.send(11, OTHER, ROUTER, 6 * ETH, tx=tx)  # someone else's clean value in the same transaction
    led.send(11, ROUTER, HOT, 9 * ETH, tx=tx)  # 1 ETH kept as the router's fee
    led.tag(ROUTER, "LI.FI: Diamond", "defi")
    led.tag(HOT, "Binance 14", "exchange")
    led.price("ETH", 3000.0)
    led.commit()
    r = trace(con, [A], "ethereum")
    ends = {(x.address, x.amount) for x in r.exits}
    # 40 % of what entered is stolen: 40 % of the 9 ETH paid on reach the exchange, the rest of 4 ETH stays
    assert ends == {(HOT, 36 * ETH // 10), (ROUTER, 4 * ETH // 10)}
    [row] = [x for x in r.totals["by_asset"] if x["asset"] == "ETH"]
    assert row["to_exits"] == 36 * ETH // 10 and row["in_services"] == 4 * ETH // 10


def test_swap_paid_straight_to_an_exchange_is_valued_in_usd(con):
    led = Ledger(con)
    usdt = led.token("0x" + "d" * 40, "USDT", 6)
    led.send(10, V1, A, 10 * ETH)
    tx = led.send(11, A, ROUTER, 10 * ETH)
    led.send(11, ROUTER, HOT, 30_000 * 10**6, usdt, tx=tx)
    led.tag(ROUTER, "1inch router", "defi")
    led.tag(HOT, "Binance 14", "exchange")
    led.price("ETH", 3000.0)
    led.price("USDT", 1.0)
    led.commit()
    r = trace(con, [A], "ethereum")
    [ex] = r.exits
    assert (ex.address, ex.asset, ex.amount, ex.category) == (HOT, usdt, 30_000 * 10**6, "exchange")


def test_no_onward_payment_keeps_the_end_at_the_service(con):
    led = Ledger(con)
    led.send(10, V1, A, 10 * ETH)
    tx = led.send(11, A, INBOX, 10 * ETH)
    led.send(12, INBOX, BRIDGE, 10 * ETH)  # a later transaction: not a pass-through
    led.tag(INBOX, "Arbitrum: Delayed Inbox", "bridge")
    led.tag(BRIDGE, "Arbitrum: Bridge", "bridge")
    led.commit()
    r = trace(con, [A], "ethereum")
    [ex] = r.exits
    assert ex.address == INBOX and ex.amount == 10 * ETH and ex.tx_hashes == [tx]
