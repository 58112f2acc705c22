"""Generic transfer CSVs (explorer exports, Dune results, hand-verified case files).

Common column names are recognised without a mapping (case-insensitive; see ``ALIASES``), including the
MFTracer case format (Timestamp, Block, Tx_hash, From, From_label, To, To_label, Value_in_USD). A file that
carries only USD values (no asset/amount) is stored in the pseudo-asset ``USD`` with 6 decimals (micro-dollars),
so its values stay exact integers; its price is 1. Label columns become tags whose source is the file.

Each row becomes a transfer of kind ``native`` (native asset) or ``token`` with position ``csv:<n>`` (its
ordinal among the file's rows of the same transaction), so re-loading the same file stores nothing twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from chainsleuth import store
from chainsleuth.errors import ChainsleuthError, InputError
from chainsleuth.ingest.staging import ADDRESS_RE, HASH_RE, header_of, locate_line, sql_str, stage
from chainsleuth.model import Model, category_from_label, chain_info, normalize_evm_address
from chainsleuth.store.ledger import ensure_chain

USD_ASSET = "USD"
USD_DECIMALS = 6

ALIASES: dict[str, tuple[str, ...]] = {
    "tx_hash": ("tx_hash", "txhash", "hash", "transaction_hash", "transaction hash", "tx"),
    "block_number": ("block_number", "block", "blockno", "block number", "block_height"),
    "time": ("time", "timestamp", "block_time", "block_timestamp", "datetime", "datetime (utc)", "date", "unixtimestamp"),
    "from_address": ("from_address", "from", "sender", "source"),
    "to_address": ("to_address", "to", "recipient", "receiver", "destination"),
    "asset": ("asset", "token_address", "contract_address", "token", "tokensymbol", "symbol", "currency"),
    "amount": ("amount", "value", "quantity", "amount_raw", "raw_amount"),
    "usd": ("value_in_usd", "usd", "amount_usd", "value_usd", "usd_value"),
    "from_label": ("from_label", "from_name", "from_tag"),
    "to_label": ("to_label", "to_name", "to_tag"),
}
REQUIRED = ("tx_hash", "time", "from_address", "to_address")


@dataclass
class CsvLoadStats:
    file: str
    chain: str
    mapping: dict[str, str]
    asset: str | None
    staged: dict[str, int] = field(default_factory=dict)
    added: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    load_id: int | None = None

    def to_dict(self) -> dict:
        return {"file": self.file, "chain": self.chain, "mapping": self.mapping, "asset": self.asset,
                "staged": self.staged, "added": self.added, "seconds": round(self.seconds, 3), "load_id": self.load_id}


def resolve_mapping(header: list[str], mapping: dict[str, str] | None, path: Path) -> dict[str, str]:
    """Our column -> the file's column, from ``mapping`` first, then the aliases."""
    lower = {h.lower(): h for h in header}
    result: dict[str, str] = {}
    for ours, theirs in (mapping or {}).items():
        if ours not in ALIASES:
            raise ChainsleuthError(f"--columns: unknown field {ours!r}; known: {', '.join(ALIASES)}")
        if theirs not in header and theirs.lower() not in lower:
            raise InputError(str(path), 1, f"--columns maps {ours} to {theirs!r}, which is not in the header")
        result[ours] = theirs if theirs in header else lower[theirs.lower()]
    for ours, names in ALIASES.items():
        if ours not in result:
            hit = next((lower[n] for n in names if n in lower), None)
            if hit is not None:
                result[ours] = hit
    missing = [r for r in REQUIRED if r not in result]
    if missing:
        raise InputError(str(path), 1, f"cannot find column(s) for {', '.join(missing)}; header has {', '.join(header)} "
                                       "(map them with --columns ours=theirs)")
    if "amount" not in result and "usd" not in result:
        raise InputError(str(path), 1, "need an amount column or a USD value column")
    return result


def load_transfer_csv(
    con: duckdb.DuckDBPyConnection,
    file: str | Path,
    chain: str,
    *,
    mapping: dict[str, str] | None = None,
    asset: str | None = None,
    decimals: int | None = None,
) -> CsvLoadStats:
    """Load transfers (and label columns as tags) from a CSV in one transaction."""
    path = Path(file)
    if not path.is_file():
        raise ChainsleuthError(f"no such file: {path}")
    info = chain_info(chain)
    if info.model != Model.ACCOUNT:
        raise ChainsleuthError(f"ingest csv loads account-chain transfers; {chain} is a UTXO chain (use ingest etl)")
    t0 = time.perf_counter()
    header = header_of(path)
    m = resolve_mapping(header, mapping, path)
    stats = CsvLoadStats(file=str(path), chain=chain, mapping=m, asset=asset)
    staged_cols = list(dict.fromkeys(m.values()))
    stats.staged["rows"] = stage(con, "stg_csv", path, staged_cols, [], [], required_not_null=False)

    def col(name: str) -> str:
        return f'"{m[name]}"'

    usd_only = "amount" not in m
    # Validate shapes set-based; locate the first bad line only on failure.
    checks = [
        (f"regexp_full_match(trim({col('tx_hash')}), '{HASH_RE}')", f"{m['tx_hash']} must be a 0x-prefixed 32-byte hex hash"),
        (f"regexp_full_match(trim({col('from_address')}), '{ADDRESS_RE}')", f"{m['from_address']} must be a 0x-prefixed 20-byte hex address"),
        (f"regexp_full_match(trim({col('to_address')}), '{ADDRESS_RE}')", f"{m['to_address']} must be a 0x-prefixed 20-byte hex address"),
        (f"{_time_sql(col('time'))} IS NOT NULL", f"{m['time']} must be a date-time (ISO) or unix seconds"),
    ]
    if "block_number" in m:
        checks.append((f"regexp_full_match({col('block_number')}, '[0-9]{{1,18}}')", f"{m['block_number']} must be a block number"))
    if usd_only:
        checks.append((f"TRY_CAST({col('usd')} AS DECIMAL(38, 6)) >= 0", f"{m['usd']} must be a non-negative number"))
    else:
        checks.append((f"regexp_full_match(trim({col('amount')}), '[0-9]+(\\.[0-9]+)?')", f"{m['amount']} must be a non-negative number"))
    for ok, reason in checks:
        bad = con.execute(f"SELECT count(*) FROM stg_csv WHERE NOT coalesce({ok}, FALSE)").fetchone()[0]
        if bad:
            line = locate_line(con, path, header, "csv", ok)
            raise InputError(str(path), line, reason)
    _check_checksums(con, path, header, [m["from_address"], m["to_address"]])

    with store.transaction(con):
        ensure_chain(con, chain)
        if usd_only:
            asset_expr = sql_str(USD_ASSET)
            amount_expr = f"(TRY_CAST({col('usd')} AS DECIMAL(38, 6)) * 1000000)::HUGEINT"
            con.execute(
                "INSERT INTO assets (chain, asset, symbol, name, decimals, contract) VALUES (?, ?, ?, ?, ?, NULL) "
                "ON CONFLICT DO NOTHING",
                [chain, USD_ASSET, USD_ASSET, "US dollar value (source gives USD only)", USD_DECIMALS],
            )
            stats.asset = USD_ASSET
        else:
            asset_expr, amount_expr = _amount_exprs(con, chain, info.native_asset, m, asset, decimals, path)
        block = f"TRY_CAST({col('block_number')} AS BIGINT)" if "block_number" in m else "0"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE load_csv AS
            SELECT {sql_str(chain)} AS chain, {block} AS block_number, {_time_sql(col('time'))} AS block_time,
                   lower(trim({col('tx_hash')})) AS tx_hash, -1 AS tx_index,
                   lower(trim({col('from_address')})) AS from_address, lower(trim({col('to_address')})) AS to_address,
                   {asset_expr} AS asset, {amount_expr} AS amount,
                   {col('from_label') if 'from_label' in m else 'NULL'} AS from_label,
                   {col('to_label') if 'to_label' in m else 'NULL'} AS to_label
            FROM stg_csv"""
        )
        missing_dec = con.execute("SELECT asset FROM load_csv WHERE amount IS NULL LIMIT 1").fetchone()
        if missing_dec:
            raise InputError(str(path), None, f"amounts of {missing_dec[0]} have decimals but its decimals are unknown: pass --decimals")
        con.execute(
            f"""INSERT INTO assets (chain, asset, contract)
            SELECT DISTINCT {sql_str(chain)}, asset, asset FROM load_csv WHERE starts_with(asset, '0x') ON CONFLICT DO NOTHING"""
        )
        added = con.execute(
            f"""INSERT INTO transfers
            SELECT chain, block_number, block_time, tx_hash, tx_index,
                   CASE WHEN starts_with(asset, '0x') THEN 'token' ELSE 'native' END AS kind,
                   'csv:' || (row_number() OVER (PARTITION BY tx_hash ORDER BY from_address, to_address, asset, amount) - 1) AS position,
                   (row_number() OVER (PARTITION BY tx_hash ORDER BY from_address, to_address, asset, amount))::INTEGER AS seq,
                   from_address, to_address, asset, amount, NULL
            FROM load_csv n
            ANTI JOIN (SELECT tx_hash FROM transfers WHERE chain = {sql_str(chain)} AND starts_with(position, 'csv:')) e USING (tx_hash)"""
        ).fetchone()[0]
        stats.added["transfers"] = added
        if usd_only:
            con.execute(
                """INSERT INTO prices (symbol, day, usd, source)
                SELECT DISTINCT 'USD', block_time::DATE, 1.0, 'definition' FROM load_csv ON CONFLICT DO NOTHING"""
            )
        stats.added["tags"] = _load_label_tags(con, chain, path)
        stats.load_id = store.record_load(con, chain, str(path), "csv", added)
    con.execute("DROP TABLE stg_csv")
    con.execute("DROP TABLE load_csv")
    stats.seconds = time.perf_counter() - t0
    return stats


def _time_sql(c: str) -> str:
    return (f"coalesce(TRY_CAST({c} AS TIMESTAMP), "
            f"CASE WHEN regexp_full_match({c}, '[0-9]{{9,11}}') THEN make_timestamp({c}::BIGINT * 1000000) END)")


def _amount_exprs(con, chain: str, native: str, m: dict, asset: str | None, decimals: int | None, path: Path) -> tuple[str, str]:
    """SQL for (asset, exact base-unit amount). Decimal amounts are scaled by --decimals or the asset's decimals."""
    if asset is None and "asset" not in m:
        asset = native
    asset_expr = sql_str(asset.lower() if asset and asset.startswith("0x") else (asset or "")) if asset else \
        f"CASE WHEN starts_with(lower(trim(\"{m['asset']}\")), '0x') THEN lower(trim(\"{m['asset']}\")) ELSE upper(trim(\"{m['asset']}\")) END"
    a = f'trim("{m["amount"]}")'
    if decimals is not None:
        scale = f"{int(decimals)}"
    else:
        scale = (f"(SELECT decimals FROM assets WHERE chain = {sql_str(chain)} "
                 f"AND (asset = ({asset_expr}) OR upper(symbol) = upper({asset_expr})) ORDER BY contract NULLS FIRST LIMIT 1)")
    # Integer text: base units as they are. Decimal text: integer part * 10^d + fraction padded to d digits (exact).
    amount = (f"CASE WHEN NOT contains({a}, '.') THEN TRY_CAST({a} AS HUGEINT) "
              f"ELSE TRY_CAST(split_part({a}, '.', 1) || rpad(split_part({a}, '.', 2), {scale}, '0') AS HUGEINT) END")
    if decimals is not None:
        too_precise = con.execute(
            f"SELECT count(*) FROM stg_csv WHERE length(split_part(trim(\"{m['amount']}\"), '.', 2)) > {int(decimals)}"
        ).fetchone()[0]
        if too_precise:
            raise InputError(str(path), None, f"some amounts have more than {decimals} decimals")
    return asset_expr, amount


def _check_checksums(con, path: Path, header: list[str], columns: list[str]) -> None:
    """Mixed-case EVM addresses claim an EIP-55 checksum: verify each distinct one (a typo guard)."""
    for c in dict.fromkeys(columns):
        mixed = con.execute(
            f'SELECT DISTINCT trim("{c}") FROM stg_csv WHERE trim("{c}") <> lower(trim("{c}")) AND trim("{c}") <> upper(trim("{c}"))'
        ).fetchall()
        for (addr,) in mixed:
            try:
                normalize_evm_address(addr)
            except ChainsleuthError as exc:
                line = locate_line(con, path, header, "csv", f"trim(\"{c}\") <> {sql_str(addr)}")
                raise InputError(str(path), line, str(exc)) from None


def _load_label_tags(con, chain: str, path: Path) -> int:
    """Label columns become tags with this file as source; a re-import replaces the file's tags."""
    source = f"csv:{path.name}"
    con.execute("DELETE FROM tags WHERE source = ? AND chain = ?", [source, chain])
    rows = con.execute(
        """SELECT DISTINCT address, label FROM (
             SELECT from_address AS address, trim(from_label) AS label FROM load_csv
             UNION ALL SELECT to_address, trim(to_label) FROM load_csv)
           WHERE label IS NOT NULL AND label <> ''"""
    ).fetchall()
    if not rows:
        return 0
    new_tags = pa.table({
        "address": [a for a, _ in rows],
        "label": [lab for _, lab in rows],
        "category": [category_from_label(lab) for _, lab in rows],
    })
    con.register("new_tags", new_tags)
    con.execute(
        "INSERT INTO tags (chain, address, label, category, source, added_by) "
        "SELECT ?, address, label, category, ?, 'csv-import' FROM new_tags",
        [chain, source],
    )
    con.unregister("new_tags")
    return len(rows)
