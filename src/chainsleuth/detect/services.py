"""Which addresses belong to services (exchanges, bridges, mixers, DEXes, ...) on a chain.

Drain-wave detection must not mistake a service's own sweeps (deposit address -> hot wallet) for a theft,
and typologies must know where tainted value met a service. The best source is the labels layer
(``chainsleuth.labels.address_labels``: tags, cluster propagation and the deposit heuristic); when that
module is not installed, the raw ``tags`` table is used.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from chainsleuth.model import Category

#: Categories that mark a service, i.e. a counterparty that is not the thief and not an ordinary user.
SERVICE_CATEGORIES = frozenset(
    {
        Category.EXCHANGE, Category.HOT_WALLET, Category.DEPOSIT, Category.OTC, Category.MIXER, Category.BRIDGE,
        Category.DEX, Category.DEFI, Category.MINER, Category.GAMBLING, Category.MARKET, Category.PAYMENT,
        Category.COINJOIN,
    }
)


def address_labels_table(con: duckdb.DuckDBPyConnection, chain: str) -> pa.Table:
    """One label per address on ``chain``: columns address, label, category, actor, entity, via.

    Uses ``chainsleuth.labels.address_labels`` when present (it resolves clusters and deposit addresses);
    otherwise the most confident tag per address from ``tags``.
    """
    try:
        from chainsleuth.labels import address_labels
    except ImportError:
        address_labels = None
    if address_labels is not None:
        t = address_labels(con, chain)
        cols = {c: t.column(c) for c in ("address", "label", "category") if c in t.column_names}
        n = t.num_rows
        for c in ("actor", "entity", "via"):
            cols[c] = t.column(c) if c in t.column_names else pa.nulls(n, pa.string())
        return pa.table(cols)
    return con.execute(
        """
        SELECT address, label, category, actor, coalesce(actor, label) AS entity, 'tag' AS via
        FROM (
            SELECT *, row_number() OVER (PARTITION BY address ORDER BY coalesce(confidence, 0.5) DESC,
                                         added_at DESC, label) AS rn
            FROM tags WHERE chain = ? OR chain IS NULL
        ) WHERE rn = 1
        """,
        [chain],
    ).to_arrow_table()


def service_addresses(con: duckdb.DuckDBPyConnection, chain: str) -> pa.Table:
    """Addresses on ``chain`` labelled with a service category (one column: address)."""
    labels = address_labels_table(con, chain)
    cats = [str(c) for c in SERVICE_CATEGORIES]
    con.register("_svc_labels", labels)
    try:
        return con.sql(
            "SELECT DISTINCT address FROM _svc_labels WHERE lower(category) IN ("
            + ", ".join(f"'{c}'" for c in sorted(cats)) + ")"
        ).to_arrow_table()
    finally:
        con.unregister("_svc_labels")
