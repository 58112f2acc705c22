"""Address clustering on account (EVM) chains: deposit-address and airdrop multi-participation heuristics.

Both follow Victor 2020, "Address Clustering Heuristics for Ethereum" (Financial Cryptography, LNCS 12059):

* **Deposit address**: exchanges give each customer a fresh deposit address D and sweep what arrives to a hot
  wallet H. An address that (i) sends only to hot wallets of one exchange, (ii) receives from at least one
  sender other than the exchange, and (iii) forwards what it received, less at most ``max_loss`` (the gas
  fee on native coin), no earlier than its first receipt and within ``window`` of its last, is that
  exchange's deposit address: labelled 'deposit' with the exchange's name, and the forwarding transactions
  as evidence (``deposit_addresses``). All addresses that pay into the same deposit address belong to one
  customer and are clustered with it. Senders that pay into more than ``max_user_deposits`` deposit
  addresses (gas top-up wallets, payment services) or that carry a service label are left out, since they
  would glue different customers together.
* **Airdrop multi-participation**: a distributor sends one token to many recipients (at least
  ``min_airdrop_recipients``); recipients that pass the token on to the same collector address (not a
  labelled exchange, DEX or other service, and not a deposit address) are one participant farming the
  airdrop with many addresses, clustered with the collector.

Everything is set-based DuckDB SQL over ``transfers``; components come from
:func:`chainsleuth.cluster.components.store_edge_components`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import duckdb

from chainsleuth.cluster.components import store_edge_components
from chainsleuth.store import transaction

#: Confidence of a deposit-address label (a behavioural inference, below service-provided data).
DEPOSIT_CONFIDENCE = 0.8

#: Tag categories that mark an address as an exchange's own wallet (the sweep target).
HOT_CATEGORIES = ("exchange", "hot_wallet")
#: Tag categories that say nothing about being a service (such senders may still be customers).
NON_SERVICE_CATEGORIES = ("user", "victim", "hacker", "scam", "ransomware", "sanctioned", "other", "coinjoin")


@dataclass
class EvmHeuristics:
    deposit: bool = True
    airdrop: bool = False  # opt-in: loose on data without airdrops (see docs/labels.md)
    max_loss: float = 0.05
    window_days: int = 30
    min_senders: int = 1
    max_user_deposits: int = 3
    min_airdrop_recipients: int = 10

    def names(self) -> list[str]:
        out = []
        if self.deposit:
            out.append(f"deposit-address(max_loss={self.max_loss}, window={self.window_days}d)")
        if self.airdrop:
            out.append(f"airdrop(>={self.min_airdrop_recipients} recipients)")
        return out


def _labelled_sql() -> str:
    return f"""
    hot AS (
        SELECT address, arg_max(coalesce(actor, label), confidence) AS entity,
               arg_max(label, confidence) AS label, arg_max(actor, confidence) AS actor
        FROM tags WHERE (chain = $chain OR chain IS NULL) AND category IN {HOT_CATEGORIES}
        GROUP BY address
    ),
    service AS (
        SELECT DISTINCT address FROM tags
        WHERE (chain = $chain OR chain IS NULL) AND category IS NOT NULL
          AND category NOT IN {NON_SERVICE_CATEGORIES}
    )"""


def detect_deposit_addresses(con: duckdb.DuckDBPyConnection, chain: str, h: EvmHeuristics) -> int:
    """Find deposit addresses on ``chain`` and store them in ``deposit_addresses`` (replacing the chain's
    earlier result). Returns the number of deposit addresses."""
    sql = f"""
    WITH {_labelled_sql()},
    fwd AS (
        SELECT t.from_address AS d, t.to_address AS h, t.asset, t.amount, t.tx_hash, t.block_time
        FROM transfers t JOIN hot ON hot.address = t.to_address
        ANTI JOIN service s ON s.address = t.from_address
        WHERE t.chain = $chain AND t.from_address IS NOT NULL AND t.amount > 0
    ),
    cand AS (SELECT DISTINCT d FROM fwd),
    single_dest AS (
        SELECT o.from_address AS d, any_value(hot.entity) AS entity
        FROM transfers o SEMI JOIN cand ON cand.d = o.from_address
        LEFT JOIN hot ON hot.address = o.to_address
        WHERE o.chain = $chain AND o.amount > 0
        GROUP BY o.from_address
        HAVING count(*) = count(hot.address) AND count(DISTINCT hot.entity) = 1
    ),
    ins AS (
        SELECT t.to_address AS d, t.asset, sum(t.amount) AS received,
               count(DISTINCT t.from_address) AS senders, min(t.block_time) AS first_in,
               max(t.block_time) AS last_in
        FROM transfers t SEMI JOIN single_dest s ON s.d = t.to_address
        ANTI JOIN hot ON hot.address = t.from_address
        WHERE t.chain = $chain AND t.amount > 0
        GROUP BY ALL
    ),
    f AS (
        SELECT d, asset, arg_max(h, amount) AS h, sum(amount) AS forwarded, count(*) AS forwards,
               min(block_time) AS first_fwd, max(block_time) AS last_fwd,
               list(tx_hash ORDER BY block_time, tx_hash)[1:50] AS txs
        FROM fwd SEMI JOIN single_dest s ON s.d = fwd.d
        GROUP BY d, asset
    )
    SELECT $chain, f.d, f.h, coalesce(ac.label, hot.entity), hot.actor, f.asset, ins.received, f.forwarded,
           ins.senders, f.forwards, f.first_fwd, f.last_fwd, f.txs, {DEPOSIT_CONFIDENCE}
    FROM f JOIN ins USING (d, asset) JOIN hot ON hot.address = f.h
    LEFT JOIN actors ac ON ac.actor = hot.actor
    WHERE ins.senders >= $min_senders
      AND f.forwarded <= ins.received
      AND f.forwarded >= ins.received * (1 - $max_loss)
      AND f.first_fwd >= ins.first_in
      AND f.last_fwd <= ins.last_in + to_days($window)
    """
    with transaction(con):
        con.execute("DELETE FROM deposit_addresses WHERE chain = ?", [chain])
        con.execute(
            "INSERT INTO deposit_addresses " + sql,
            {"chain": chain, "min_senders": h.min_senders, "max_loss": h.max_loss, "window": h.window_days},
        )
    return con.execute(
        "SELECT count(DISTINCT address) FROM deposit_addresses WHERE chain = ?", [chain]
    ).fetchall()[0][0]


def _deposit_edges_sql() -> str:
    """(a, b, evidence_tx, heuristic): customer address -> its deposit address."""
    return f"""
    WITH {_labelled_sql()},
    dep AS (SELECT DISTINCT address FROM deposit_addresses WHERE chain = $chain),
    pay AS (
        SELECT t.from_address AS a, t.to_address AS b, min(t.tx_hash) AS tx
        FROM transfers t SEMI JOIN dep ON dep.address = t.to_address
        ANTI JOIN hot ON hot.address = t.from_address
        ANTI JOIN service s ON s.address = t.from_address
        ANTI JOIN dep d2 ON d2.address = t.from_address
        WHERE t.chain = $chain AND t.amount > 0 AND t.from_address IS NOT NULL
        GROUP BY 1, 2
    ),
    busy AS (SELECT a FROM pay GROUP BY a HAVING count(DISTINCT b) > $max_user_deposits)
    SELECT a, b, tx, 'deposit-address' AS heuristic FROM pay ANTI JOIN busy USING (a)
    """


def _airdrop_edges_sql() -> str:
    """(a, b, evidence_tx, heuristic): airdrop recipient -> the collector it passed the token on to."""
    return f"""
    WITH {_labelled_sql()},
    dist AS (
        SELECT asset, from_address AS distributor FROM transfers
        WHERE chain = $chain AND kind = 'token' AND from_address IS NOT NULL AND amount > 0
        GROUP BY ALL HAVING count(DISTINCT to_address) >= $min_recipients
    ),
    got AS (
        SELECT DISTINCT t.asset, t.to_address AS r, d.distributor FROM transfers t
        JOIN dist d ON d.asset = t.asset AND d.distributor = t.from_address
        WHERE t.chain = $chain AND t.kind = 'token'
    ),
    passed AS (
        SELECT g.r AS a, t.to_address AS b, min(t.tx_hash) AS tx, t.asset
        FROM transfers t JOIN got g ON g.asset = t.asset AND g.r = t.from_address
        ANTI JOIN service s ON s.address = t.to_address
        ANTI JOIN hot ON hot.address = t.to_address
        ANTI JOIN (SELECT address FROM deposit_addresses WHERE chain = $chain) dp ON dp.address = t.to_address
        WHERE t.chain = $chain AND t.kind = 'token' AND t.amount > 0 AND t.to_address IS NOT NULL
          AND t.to_address <> g.distributor
        GROUP BY g.r, t.to_address, t.asset
    ),
    collectors AS (SELECT b, asset FROM passed GROUP BY ALL HAVING count(DISTINCT a) >= 2)
    SELECT a, b, min(tx), 'airdrop' FROM passed SEMI JOIN collectors USING (b, asset) GROUP BY a, b
    """


def cluster_evm(con: duckdb.DuckDBPyConnection, chain: str, heuristics: EvmHeuristics | None = None) -> dict:
    """Detect deposit addresses and cluster the addresses of account chain ``chain`` (stored in
    ``deposit_addresses`` and ``clusters``). Returns {chain, heuristics, deposit_addresses, addresses,
    clusters, largest, links, links_by_heuristic, seconds}."""
    h = heuristics or EvmHeuristics()
    t0 = time.perf_counter()
    n_dep = detect_deposit_addresses(con, chain, h) if h.deposit else 0
    if not h.deposit:
        con.execute("DELETE FROM deposit_addresses WHERE chain = ?", [chain])
    parts = []
    if h.deposit:
        parts.append(_deposit_edges_sql())
    if h.airdrop:
        parts.append(_airdrop_edges_sql())
    params = {"chain": chain, "max_user_deposits": h.max_user_deposits, "min_recipients": h.min_airdrop_recipients}
    edges = " UNION ALL ".join(f"SELECT * FROM ({p})" for p in parts) if parts else None
    result = store_edge_components(con, chain, edges, params, h.names())
    seconds = time.perf_counter() - t0
    return {**result, "deposit_addresses": n_dep, "seconds": round(seconds, 3)}
