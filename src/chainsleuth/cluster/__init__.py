"""Address clustering: which addresses one owner controls (UTXO multi-input/change heuristics, EVM
deposit-address and airdrop heuristics), stored as a cluster id per address with its evidence."""

from __future__ import annotations

import duckdb

from chainsleuth.cluster.evm import EvmHeuristics, cluster_evm
from chainsleuth.cluster.utxo import UtxoHeuristics, cluster_utxo
from chainsleuth.errors import NotFoundError
from chainsleuth.model import Model, chain_info

__all__ = ["EvmHeuristics", "UtxoHeuristics", "cluster_chain", "cluster_evm", "cluster_utxo"]


def cluster_chain(
    con: duckdb.DuckDBPyConnection, chain: str, heuristics: UtxoHeuristics | EvmHeuristics | None = None
) -> dict:
    """Cluster ``chain`` with the heuristics of its model (UTXO or account)."""
    row = con.execute("SELECT model FROM chains WHERE chain = ?", [chain]).fetchall()
    if not row:
        raise NotFoundError(f"chain {chain!r} is not in the database; ingest it first")
    model = row[0][0] or chain_info(chain).model
    if model == Model.UTXO:
        if heuristics is not None and not isinstance(heuristics, UtxoHeuristics):
            raise TypeError("UTXO chains take UtxoHeuristics")
        return cluster_utxo(con, chain, heuristics)
    if heuristics is not None and not isinstance(heuristics, EvmHeuristics):
        raise TypeError("account chains take EvmHeuristics")
    return cluster_evm(con, chain, heuristics)
