"""Migrations carry stored rows over: a database made by an older release opens with its data intact."""

from __future__ import annotations

import duckdb

from chainsleuth import store


def _migrate_without(con: duckdb.DuckDBPyConnection, missing: int) -> None:
    """What an older release did: apply every shipped migration but ``missing`` (later ones included, as in
    a database made by the release before it)."""
    con.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
                "applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)")
    for version, name, sql in store.migrations():
        if version != missing:
            con.execute(sql)
            con.execute("INSERT INTO schema_version (version, name) VALUES (?, ?)", [version, name])


def test_clusters_keep_their_rows_and_lose_compression_of_strings(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    _migrate_without(con, 102)
    rows = [("bitcoin", f"bc1qaddress{i:04d}", i // 3, "multi-input", f"{i:064x}") for i in range(3000)]
    rows.append(("ethereum", "0xdeposit", 7, "deposit-address", None))
    con.executemany("INSERT INTO clusters VALUES (?, ?, ?, ?, ?)", rows)
    con.close()

    con = store.connect(path)
    assert store.schema_version(con) >= 102
    got = con.execute("SELECT chain, address, cluster_id, heuristic, evidence_tx FROM clusters "
                      "ORDER BY chain, address").fetchall()
    assert got == sorted(rows, key=lambda r: (r[0], r[1]))
    con.execute("CHECKPOINT")
    kinds = dict(con.execute(
        "SELECT column_name, string_agg(DISTINCT compression, ',') FROM pragma_storage_info('clusters') "
        "WHERE segment_type = 'VARCHAR' GROUP BY 1"
    ).fetchall())
    assert kinds["address"] == "Uncompressed" and kinds["evidence_tx"] == "Uncompressed"
