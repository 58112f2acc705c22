"""Which addresses count as risky (and which stop a backward walk), as a temporary DuckDB table.

Risk types follow common compliance practice: ``incident`` (hacks, scams, ransomware, and every address on
the watch-list, which holds attacker and tainted addresses), ``sanctioned``, and ``mixer`` (mixers and
CoinJoin). Exchanges, hot wallets, deposit addresses, OTC desks, DEX pools and bridge contracts are *stop*
points: their pooled funds would smear every customer's history over everyone (a DEX swap's output would
carry a millionth of every earlier trader's deposit), so exposure does not pass through them; nor through the
burn addresses (a mint does not pay out what was burnt).
"""

from __future__ import annotations

import duckdb

from chainsleuth.labels import address_labels
from chainsleuth.model import BURN_ADDRESSES, Category

RISK_TYPES: dict[str, frozenset[str]] = {
    "incident": frozenset({Category.HACKER, Category.SCAM, Category.RANSOMWARE}),
    "sanctioned": frozenset({Category.SANCTIONED}),
    "mixer": frozenset({Category.MIXER, Category.COINJOIN}),
}
EXCHANGE_CATEGORIES = frozenset({Category.EXCHANGE, Category.HOT_WALLET, Category.DEPOSIT, Category.OTC})
STOP_CATEGORIES = EXCHANGE_CATEGORIES | {Category.DEX, Category.BRIDGE}
#: Addresses that pass no exposure on, labelled or not.
STOP_ADDRESSES = BURN_ADDRESSES


def _case_sql(column: str) -> str:
    whens = " ".join(
        f"WHEN {column} IN ({', '.join(repr(str(c)) for c in sorted(cats))}) THEN '{kind}'"
        for kind, cats in RISK_TYPES.items()
    )
    return f"CASE {whens} END"


def load_labels(con: duckdb.DuckDBPyConnection, chain: str, name: str = "_labels") -> str:
    """Create TEMP table ``name`` (address, label, category, actor, entity, via, risk_type, is_stop) for ``chain``.

    Labels come from :func:`chainsleuth.labels.address_labels`. Watch-list addresses and the attacker
    addresses of detected incidents that carry no risky or service label get risk_type ``incident``.
    """
    tbl = address_labels(con, chain)
    con.register("_labels_arrow", tbl)
    try:
        stop = ", ".join(repr(str(c)) for c in sorted(STOP_CATEGORIES))
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {name} AS
            WITH l AS (
                SELECT address, label, lower(category) AS category, actor, entity, via FROM _labels_arrow),
            w0 AS (
                SELECT address, coalesce(label, 'watch-list') AS label, 'hacker' AS category, NULL AS actor,
                       case_id AS entity, 'watch-list' AS via
                FROM watchlist WHERE chain = $chain AND active
                UNION ALL
                SELECT address, 'incident ' || incident_id || ' ' || role, 'hacker', NULL, incident_id, 'incident'
                FROM incident_attackers WHERE chain = $chain),
            w AS (SELECT * FROM w0 QUALIFY row_number() OVER (PARTITION BY address ORDER BY via DESC) = 1)
            SELECT address, label, category, actor, entity, via,
                   {_case_sql('category')} AS risk_type, category IN ({stop}) AS is_stop
            FROM l
            UNION ALL
            SELECT w.address, w.label, w.category, w.actor, w.entity, w.via, 'incident', false
            FROM w ANTI JOIN l ON l.address = w.address
            UNION ALL
            SELECT w.address, w.label, w.category, w.actor, w.entity, w.via, 'incident', false
            FROM w SEMI JOIN l ON l.address = w.address AND {_case_sql('l.category')} IS NULL
                                  AND NOT l.category IN ({stop})
            """,
            {"chain": chain},
        )
        # an address both labelled (non-risky) and watched appears twice: keep the risky reading
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name} "
            "QUALIFY row_number() OVER (PARTITION BY address ORDER BY risk_type NULLS LAST) = 1"
        )
    finally:
        con.unregister("_labels_arrow")
    return name
