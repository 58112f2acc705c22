"""Screening: backward haircut exposure computed in DuckDB over a real ledger."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from chainsleuth.errors import ChainsleuthError, InputError
from chainsleuth.screen import read_address_csv, screen, screen_csv
from chainsleuth.store.ledger import ensure_chain

T0 = datetime(2024, 1, 1)
WEI = 10**18


def A(n: int) -> str:
    return "0x" + f"{n:040x}"


HACKER, MID, CLEAN, SANCT, EXCH, TARGET, MIXER = A(1), A(2), A(3), A(4), A(5), A(9), A(6)


@pytest.fixture
def ledger(con):
    ensure_chain(con, "ethereum")
    con.execute(
        "INSERT INTO tags (chain, address, label, category, source, added_by) VALUES "
        "('ethereum', ?, 'Lazarus hack', 'hacker', 't', 't'), ('ethereum', ?, 'OFAC SDN', 'sanctioned', 't', 't'),"
        "('ethereum', ?, 'Binance', 'exchange', 't', 't'), ('ethereum', ?, 'Tornado', 'mixer', 't', 't')",
        [HACKER, SANCT, EXCH, MIXER],
    )
    return con


def pay(con, n: int, frm: str, to: str, eth: float, hour: int, asset: str = "ETH", chain: str = "ethereum"):
    con.execute(
        "INSERT INTO transfers VALUES (?, ?, ?, ?, 0, 'native', '', 0, ?, ?, ?, ?, NULL)",
        [chain, hour, T0 + timedelta(hours=hour), "0x" + f"{n:064x}", frm, to, asset, int(eth * WEI)],
    )


def test_direct_and_indirect_shares_are_exact_haircut(ledger):
    pay(ledger, 1, HACKER, MID, 10, 1)
    pay(ledger, 2, CLEAN, MID, 30, 2)
    pay(ledger, 3, MID, TARGET, 20, 3)
    pay(ledger, 4, SANCT, TARGET, 5, 4)
    pay(ledger, 5, EXCH, TARGET, 75, 5)
    target, mid = screen(ledger, [TARGET, MID], "ethereum")
    assert target.basis == "native" and target.received_value == pytest.approx(100.0)
    assert target.exposure["sanctioned"]["direct"] == pytest.approx(0.05)
    assert target.exposure["incident"]["direct"] == 0.0
    assert target.exposure["incident"]["indirect"] == pytest.approx(0.20 * 0.25)
    assert target.level == "high"
    src = {s["address"]: s for s in target.sources}
    assert src[HACKER]["hop"] == 2 and src[HACKER]["via"] == MID
    (ev,) = src[HACKER]["evidence"]  # the payment TARGET received, a quarter of it the hacker's
    assert ev["tx_hash"] == "0x" + f"{3:064x}" and ev["from"] == MID and ev["amount"] == str(20 * WEI)
    assert ev["tainted_value"] == pytest.approx(5.0) and src[HACKER]["value"] == pytest.approx(5.0)
    assert src[SANCT]["via"] == SANCT and src[SANCT]["evidence"][0]["tainted_value"] == pytest.approx(5.0)
    assert mid.exposure["incident"]["direct"] == pytest.approx(0.25) and mid.level == "severe"
    assert HACKER in mid.reasons[0] and "0x" + f"{1:064x}" in mid.reasons[0]


def test_later_inflows_do_not_explain_earlier_payments(ledger):
    pay(ledger, 1, CLEAN, MID, 10, 1)
    pay(ledger, 2, MID, TARGET, 10, 2)
    pay(ledger, 3, HACKER, MID, 90, 3)  # after MID paid TARGET
    (r,) = screen(ledger, [TARGET], "ethereum")
    assert r.exposure["incident"]["total"] == 0.0 and r.level == "low"


def test_walk_stops_at_exchanges_and_respects_hops(ledger):
    pay(ledger, 1, HACKER, EXCH, 50, 1)
    pay(ledger, 2, EXCH, TARGET, 50, 2)
    pay(ledger, 3, HACKER, CLEAN, 10, 3)
    pay(ledger, 4, CLEAN, MID, 10, 4)
    pay(ledger, 5, MID, TARGET, 10, 5)
    (r3,) = screen(ledger, [TARGET], "ethereum", hops=3)
    assert r3.exposure["incident"]["indirect"] == pytest.approx(10 / 60)  # the exchange's 50 carry nothing
    (r2,) = screen(ledger, [TARGET], "ethereum", hops=2)
    assert r2.exposure["incident"]["total"] == 0.0  # the hacker is 3 hops back


def test_mixer_exposure_and_own_label(ledger):
    pay(ledger, 1, MIXER, TARGET, 40, 1)
    pay(ledger, 2, CLEAN, TARGET, 60, 2)
    pay(ledger, 3, CLEAN, HACKER, 1, 3)
    target, hacker = screen(ledger, [TARGET, HACKER], "ethereum")
    assert target.exposure["mixer"]["direct"] == pytest.approx(0.4) and target.level == "high"
    assert hacker.level == "severe" and "labelled hacker" in hacker.reasons[0]


def test_usd_basis_uses_prices_and_decimals(ledger):
    usdc = "0x" + "cc" * 20
    ledger.execute("INSERT INTO assets VALUES ('ethereum', ?, 'USDC', 'USD Coin', 6, ?)", [usdc, usdc])
    ledger.execute("INSERT INTO prices VALUES ('ETH', ?, 2000.0, 't'), ('USDC', ?, 1.0, 't')",
                   [T0.date(), T0.date()])
    pay(ledger, 1, HACKER, TARGET, 1, 1)  # 1 ETH = $2000
    ledger.execute(
        "INSERT INTO transfers VALUES ('ethereum', 2, ?, ?, 0, 'token', '1', 1, ?, ?, ?, ?, NULL)",
        [T0 + timedelta(hours=2), "0x" + f"{2:064x}", CLEAN, TARGET, usdc, 6000 * 10**6],
    )
    (r,) = screen(ledger, [TARGET], "ethereum")
    assert r.basis == "usd" and r.received_value == pytest.approx(8000.0)
    assert r.exposure["incident"]["direct"] == pytest.approx(0.25)
    assert r.exposure["incident"]["direct_value"] == pytest.approx(2000.0)


def test_utxo_inputs_split_outputs_pro_rata(con):
    ensure_chain(con, "bitcoin")
    con.execute("INSERT INTO tags (chain, address, label, category, source, added_by) "
                "VALUES ('bitcoin', 'bc1hacker', 'thief', 'hacker', 't', 't')")
    when = T0
    # tx1: inputs 1 BTC from the hacker, 3 BTC from a clean wallet; outputs 2 BTC to the target, rest change
    for i, (addr, sats) in enumerate([("bc1hacker", 10**8), ("bc1clean", 3 * 10**8)]):
        con.execute("INSERT INTO utxo_inputs VALUES ('bitcoin', 'tx1', ?, 1, ?, ?, 0, ?, ?)",
                    [i, when, f"prev{i}", addr, sats])
    con.execute("INSERT INTO utxo_outputs VALUES ('bitcoin', 'tx1', 0, 1, ?, 'bc1target', 'p2wpkh', NULL, ?)",
                [when, 2 * 10**8])
    con.execute("INSERT INTO utxo_outputs VALUES ('bitcoin', 'tx1', 1, 1, ?, 'bc1change', 'p2wpkh', NULL, ?)",
                [when, 2 * 10**8 - 1000])
    (r,) = screen(con, ["bc1target"], "bitcoin")
    assert r.exposure["incident"]["direct"] == pytest.approx(0.25)
    assert r.exposure["incident"]["indirect"] == 0.0
    ev = r.sources[0]["evidence"][0]
    assert ev["tx_hash"] == "tx1" and ev["amount"] == str(2 * 10**8 // 4)


def test_batch_csv_in_file_order_with_line_errors(ledger, tmp_path):
    pay(ledger, 1, HACKER, TARGET, 1, 1)
    f = tmp_path / "batch.csv"
    f.write_text(f"address,chain,note\n{TARGET},ethereum,a\n{CLEAN},,b\n\n")
    res = screen_csv(ledger, f, default_chain="ethereum")
    assert [r.address for r in res] == [TARGET, CLEAN]
    assert [r.level for r in res] == ["severe", "low"]
    bad = tmp_path / "bad.csv"
    bad.write_text(f"address\n{TARGET}\n0x12345\n")
    with pytest.raises(InputError) as exc:
        read_address_csv(bad, "ethereum")
    assert exc.value.line == 3 and "not an EVM address" in exc.value.reason
    with pytest.raises(InputError, match="'address' column"):
        (tmp_path / "nohdr.csv").write_text("wallet\nx\n")
        read_address_csv(tmp_path / "nohdr.csv", "ethereum")


def test_bad_arguments(ledger):
    with pytest.raises(ChainsleuthError, match="hops"):
        screen(ledger, [TARGET], "ethereum", hops=0)
    with pytest.raises(ChainsleuthError, match="not in the database"):
        screen(ledger, [TARGET], "polygon")
