"""Numbers at the edges through the ethereum-etl path: tokens with 0 and 24 decimals (tokens.csv), amounts at
HUGEINT's limit and at uint256's maximum, sums beyond HUGEINT, zero-value and self transfers, a failed
transaction and a self-destruct. Every amount stays exact in the store, the address profile, neighbours, the
trace JSON and the human-readable report units. (uint256 extremes over RPC: tests/unit/ingest_rpc.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from chainsleuth import store
from chainsleuth.ingest.etl import load_etl
from chainsleuth.report.units import format_amount
from chainsleuth.screen.profile import address_profile, neighbours
from chainsleuth.trace import trace


def A(n: int) -> str:  # noqa: N802 - reads like the address it builds
    return "0x" + f"{n:040x}"


def H(n: int) -> str:  # noqa: N802
    return "0x" + f"{n:064x}"


ZERO, YOCTO, BIG = A(0x2E70), A(0x10C70), A(0xB16)  # tokens with 0, 24 and 18 decimals
ALICE, BOB, CAROL, CONTRACT = A(0xA1), A(0xB0B), A(0xCA), A(0xC0DE)
TOP, HMAX = 2**256 - 1, 2**127 - 1
ETHER = 10**18


def write_export(d: Path) -> None:
    d.mkdir()
    (d / "blocks.csv").write_text("number,hash,parent_hash,timestamp\n" + "".join(
        f"{n},{H(0xB000 + n)},{H(0xB000 + n - 1)},{1_700_000_000 + 12 * n}\n" for n in range(1, 4)))
    (d / "tokens.csv").write_text(f"address,symbol,name,decimals\n{ZERO},ZERO,Zero decimals,0\n"
                                  f"{YOCTO},YOCTO,Yocto,24\n{BIG},BIG,Big,18\n")
    txs = [  # hash, block, index, from, to, value, receipt status
        (H(1), 1, 0, ALICE, BOB, 0, 1),  # zero-value native
        (H(2), 1, 1, ALICE, ALICE, 5 * ETHER, 1),  # self transfer
        (H(3), 1, 2, ALICE, BOB, 7 * ETHER, 0),  # failed: moves nothing but its fee
        (H(4), 2, 0, ALICE, CONTRACT, 2 * ETHER, 1),  # funds a contract
        (H(5), 3, 0, BOB, CONTRACT, 0, 1),  # the contract self-destructs, paying CAROL
        (H(6), 2, 1, ALICE, ZERO, 0, 1), (H(7), 2, 2, ALICE, YOCTO, 0, 1), (H(8), 2, 3, ALICE, BIG, 0, 1),
    ]
    (d / "transactions.csv").write_text(
        "hash,block_number,transaction_index,from_address,to_address,value,gas,gas_price,receipt_status,"
        "receipt_gas_used\n" + "".join(f"{h},{b},{i},{f},{t},{v},21000,1,{s},21000\n" for h, b, i, f, t, v, s in txs))
    tt = [
        (ZERO, ALICE, BOB, 1, H(6), 0), (ZERO, ALICE, BOB, 10**30, H(6), 1), (ZERO, BOB, BOB, 0, H(6), 2),
        (YOCTO, ALICE, BOB, HMAX, H(7), 0), (YOCTO, ALICE, BOB, HMAX, H(7), 1),  # their sum is beyond HUGEINT
        (YOCTO, ALICE, CAROL, 2**127, H(7), 2), (YOCTO, ALICE, CAROL, TOP, H(7), 3),  # each beyond HUGEINT
        (BIG, ALICE, BOB, ETHER + 1, H(8), 0),
    ]
    (d / "token_transfers.csv").write_text(
        "token_address,from_address,to_address,value,transaction_hash,log_index,block_number\n"
        + "".join(f"{a},{f},{t},{v},{h},{li},2\n" for a, f, t, v, h, li in tt))
    tr = [
        (2, H(4), ALICE, CONTRACT, 2 * ETHER, "call", "call", ""),
        (3, H(5), BOB, CONTRACT, 0, "call", "call", ""),
        (3, H(5), CONTRACT, CAROL, 2 * ETHER, "suicide", "", "0"),
    ]
    (d / "traces.csv").write_text(
        "block_number,transaction_hash,from_address,to_address,value,trace_type,call_type,trace_address,status,"
        "transaction_index\n" + "".join(f"{b},{h},{f},{t},{v},{ty},{ct},{ta},1,0\n" for b, h, f, t, v, ty, ct, ta in tr))


@pytest.fixture(scope="module")
def edge_db(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("edge")
    write_export(tmp / "etl")
    con = store.connect(tmp / "edge.duckdb")
    load_etl(con, tmp / "etl", "ethereum")
    yield con
    con.close()


def test_store_keeps_every_amount_exact(edge_db):
    con = edge_db
    assert dict(con.execute("SELECT symbol, decimals FROM assets").fetchall()) == {
        "ETH": 18, "ZERO": 0, "YOCTO": 24, "BIG": 18}
    rows = con.execute("SELECT tx_hash, position, from_address, to_address, asset, amount, amount_overflow::VARCHAR "
                       "FROM transfers WHERE kind = 'token' ORDER BY tx_hash, position::INTEGER").fetchall()
    assert [(r[5], r[6]) for r in rows] == [
        (1, None), (10**30, None), (0, None),  # 0 decimals; a zero-value self transfer kept
        (HMAX, None), (HMAX, None), (None, str(2**127)), (None, str(TOP)),  # beyond HUGEINT: exact text
        (ETHER + 1, None)]
    native = con.execute("SELECT tx_hash, kind, from_address, to_address, amount FROM transfers "
                         "WHERE asset = 'ETH' ORDER BY tx_hash").fetchall()
    assert native == [(H(2), "native", ALICE, ALICE, 5 * ETHER), (H(4), "native", ALICE, CONTRACT, 2 * ETHER),
                      (H(5), "internal", CONTRACT, CAROL, 2 * ETHER)]  # no zero-value or failed transfer
    assert con.execute("SELECT value, status, fee FROM transactions WHERE hash = ?", [H(3)]).fetchone() == (
        7 * ETHER, 0, 21000)  # the failed transaction is stored with its value and the fee it paid


def test_profile_and_neighbours_sum_beyond_hugeint(edge_db):
    prof = {a["asset"]: a for a in address_profile(edge_db, "ethereum", BOB)["assets"]}
    assert prof[YOCTO]["received"] == str(2 * HMAX)  # HUGEINT sum would overflow here
    assert prof[ZERO]["received"] == str(10**30 + 1) and prof[ZERO]["sent"] == "0"
    assert prof[BIG]["received"] == str(ETHER + 1)
    items = neighbours(edge_db, "ethereum", ALICE)["items"]
    got = {(i["address"], i["asset"]): i["amount"] for i in items}
    assert got[(BOB, YOCTO)] == str(2 * HMAX) and got[(BOB, ZERO)] == str(10**30 + 1)
    assert got[(CONTRACT, "ETH")] == str(2 * ETHER)


def test_trace_amounts_exact(edge_db):
    d = trace(edge_db, [ALICE], "ethereum").to_dict()
    edges = {(e["tx_hash"], e["to"], e["asset"], e["amount"]) for e in d["edges"] if e["kind"] != "fee"}
    assert (H(7), BOB, YOCTO, str(HMAX)) in edges and (H(6), BOB, ZERO, str(10**30)) in edges
    assert (H(5), CAROL, "ETH", str(2 * ETHER)) in edges  # through the self-destruct
    assert not any(e[0] == H(3) for e in edges)  # the failed transaction moved nothing
    fees = [e for e in d["edges"] if e["kind"] == "fee"]
    assert len(fees) == 7 and all(e["amount"] == "21000" for e in fees)  # the failed one paid its fee too
    resting = {(r["address"], r["asset"]): r["amount"] for r in d["resting"]}
    assert resting[(BOB, YOCTO)] == str(2 * HMAX) and resting[(CAROL, "ETH")] == str(2 * ETHER)
    totals = {t["asset"]: t for t in d["totals"]["by_asset"]}
    assert totals[YOCTO]["source"] == str(2 * HMAX) and totals["ETH"]["fees"] == str(7 * 21000)


@pytest.mark.parametrize(("amount", "decimals", "text"), [
    (TOP, 24, "115,792,089,237,316,195,423,570,985,008,687,907,853,269,984,665,640,564.039458"),
    (TOP, 0, f"{TOP:,}"), (10**30 + 1, 6, "1,000,000,000,000,000,000,000,000.000001"), (1, 24, "0"),
    (10**18 + 1, 18, "1"), (0, 0, "0"),
])
def test_report_units_do_not_round_large_amounts(amount, decimals, text):
    assert format_amount(amount, decimals) == text
