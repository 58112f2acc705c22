"""Malformed ethereum-etl / bitcoin-etl / price files: always a clear error naming the file (and line where
one exists), never a traceback from the database, and the stored data unchanged (same query results)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainsleuth import store
from chainsleuth.errors import ChainsleuthError, InputError
from chainsleuth.ingest.etl import load_etl
from chainsleuth.ingest.prices import load_prices

DATA = Path(__file__).resolve().parents[1] / "data"
ETH_CSV = DATA / "ethereum-etl" / "blocks_47218_47219"
ETH_JSON = DATA / "ethereum-etl" / "stream_17173049_17173050"
BTC = DATA / "bitcoin-etl" / "block_with_transactions"
TABLES = ["blocks", "transactions", "transfers", "assets", "utxo_outputs", "utxo_inputs", "prices", "chains", "loads"]

BAD_VALUES = st.one_of(
    st.just(""), st.just("0x"), st.just("0xZZ"), st.just("-1"), st.just("1.5"), st.just("1e18"),
    st.just(str(2**256)), st.just("9" * 100), st.just("null"), st.just('"'), st.just("0x" + "g" * 40),
    st.text(min_size=1, max_size=20).filter(lambda s: "\n" not in s and "\r" not in s),
)


def snapshot(con) -> dict:
    return {t: sorted(map(repr, con.execute(f"SELECT * FROM {t}").fetchall())) for t in TABLES}


@pytest.fixture(scope="module")
def base_db(tmp_path_factory) -> Path:
    """A database with data already in it: errors must leave it exactly as it was."""
    path = tmp_path_factory.mktemp("base") / "base.duckdb"
    con = store.connect(path)
    load_etl(con, BTC, "bitcoin")
    load_etl(con, ETH_JSON, "ethereum")
    con.close()
    return path


def fresh_copy(base_db: Path, tmp: Path):
    target = tmp / "db.duckdb"
    shutil.copy(base_db, target)
    return store.connect(target)


def assert_clear_error(exc: Exception, path: Path) -> None:
    assert isinstance(exc, ChainsleuthError), f"raw error leaked: {type(exc).__name__}: {exc}"
    assert path.name in str(exc) or "duplicate" in str(exc) or "block" in str(exc), str(exc)
    assert "Traceback" not in str(exc)


def mutate_csv(text: str, row: int, col: int, value: str, mode: str) -> str:
    lines = text.splitlines()
    i = 1 + row % (len(lines) - 1)
    if mode == "truncate":
        lines[i] = lines[i][: max(1, len(lines[i]) // 2)]
    elif mode == "duplicate":
        lines.insert(i, lines[i].replace(lines[i].split(",")[-1], "1", 1) if "," in lines[i] else lines[i])
    else:
        cells = lines[i].split(",")
        cells[col % len(cells)] = value
        lines[i] = ",".join(cells)
    return "\n".join(lines) + "\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    which=st.sampled_from(["expected_blocks.csv", "expected_transactions.csv"]),
    row=st.integers(0, 10), col=st.integers(0, 20), value=BAD_VALUES,
    mode=st.sampled_from(["value", "value", "truncate", "duplicate"]),
)
def test_malformed_ethereum_csv(base_db, tmp_path_factory, which, row, col, value, mode):
    tmp = tmp_path_factory.mktemp("m")
    con = fresh_copy(base_db, tmp)
    before = snapshot(con)
    d = tmp / "etl"
    shutil.copytree(ETH_CSV, d)
    (d / which).write_text(mutate_csv((ETH_CSV / which).read_text(), row, col, value, mode))
    try:
        load_etl(con, d, "ethereum")
    except Exception as exc:  # noqa: BLE001 - the point is to see what escapes
        assert_clear_error(exc, d / which)
        assert snapshot(con) == before
    else:
        # The mutation happened to be valid (e.g. a different but well-formed value): the load committed whole.
        assert con.execute("SELECT count(*) FROM blocks WHERE number IN (47218, 47219)").fetchone()[0] >= 1
    con.close()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    which=st.sampled_from(["expected_token_transfers.json", "expected_transactions.json"]),
    row=st.integers(0, 300), key=st.sampled_from(["value", "from_address", "transaction_hash", "hash", "block_number",
                                                  "log_index", "receipt_status", "to_address"]),
    value=st.one_of(BAD_VALUES, st.integers(min_value=2**256, max_value=2**300), st.just(None), st.floats(allow_nan=True)),
    mode=st.sampled_from(["value", "value", "truncate", "latin1"]),
)
def test_malformed_ethereum_json(base_db, tmp_path_factory, which, row, key, value, mode):
    tmp = tmp_path_factory.mktemp("j")
    con = store.connect(tmp / "empty.duckdb")
    before = snapshot(con)
    d = tmp / "etl"
    shutil.copytree(ETH_JSON, d)
    lines = (ETH_JSON / which).read_text().splitlines()
    i = row % len(lines)
    if mode == "truncate":
        lines[i] = lines[i][: len(lines[i]) // 2]
        (d / which).write_text("\n".join(lines) + "\n")
    elif mode == "latin1":
        (d / which).write_bytes(("\n".join(lines[:i]) + "\n").encode() + "caf\xe9 \xff\n".encode("latin-1"))
    else:
        rec = json.loads(lines[i])
        if key in rec:
            rec[key] = value
        lines[i] = json.dumps(rec)
        (d / which).write_text("\n".join(lines) + "\n")
    try:
        load_etl(con, d, "ethereum")
    except Exception as exc:  # noqa: BLE001
        assert_clear_error(exc, d / which)
        assert snapshot(con) == before
    con.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=st.integers(0, 3), part=st.sampled_from(["outputs", "inputs", "block_number", "hash"]),
       value=st.one_of(BAD_VALUES, st.just(None), st.just([{"index": 0, "value": "x"}]), st.just([{"value": -5}])),
       truncate=st.booleans())
def test_malformed_bitcoin_json(base_db, tmp_path_factory, row, part, value, truncate):
    tmp = tmp_path_factory.mktemp("b")
    con = fresh_copy(base_db, tmp)
    before = snapshot(con)
    d = tmp / "btc"
    shutil.copytree(BTC, d)
    lines = (BTC / "expected_transactions.json").read_text().splitlines()
    i = row % len(lines)
    if truncate:
        lines[i] = lines[i][: len(lines[i]) // 3]
    else:
        rec = json.loads(lines[i])
        rec[part] = value
        lines[i] = json.dumps(rec)
    (d / "expected_transactions.json").write_text("\n".join(lines) + "\n")
    try:
        load_etl(con, d, "bitcoin")
    except Exception as exc:  # noqa: BLE001
        assert_clear_error(exc, d / "expected_transactions.json")
        assert snapshot(con) == before
    con.close()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(day=st.one_of(st.just("2023-13-01"), st.just(""), st.text(max_size=12).filter(lambda s: "," not in s and "\n" not in s and "\r" not in s)),
       usd=st.one_of(st.just("-1"), st.just("nan"), st.just("inf"), st.just("1e400"), st.just(""), st.just("abc")),
       which=st.sampled_from(["day", "usd", "dup"]))
def test_malformed_prices(base_db, tmp_path_factory, day, usd, which):
    tmp = tmp_path_factory.mktemp("p")
    con = fresh_copy(base_db, tmp)
    load_prices(con, _write(tmp / "ok.csv", "symbol,day,usd\nETH,2023-01-01,1200\n"))
    before = snapshot(con)
    rows = {"day": f"ETH,{day},5", "usd": f"ETH,2023-01-02,{usd}", "dup": "ETH,2023-01-03,5\nETH,2023-01-03,6"}[which]
    f = _write(tmp / "p.csv", "symbol,day,usd\nBTC,2023-01-01,20000\n" + rows + "\n")
    try:
        load_prices(con, f)
    except Exception as exc:  # noqa: BLE001
        assert_clear_error(exc, f)
        if which != "dup":
            assert isinstance(exc, InputError) and exc.line == 3, str(exc)
        assert snapshot(con) == before
    con.close()


def _write(p: Path, text: str) -> Path:
    p.write_text(text)
    return p
