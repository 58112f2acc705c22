"""Read back what an ingester stored, in a form two stores can be compared by."""

from __future__ import annotations


def all_transfers(con, chain: str) -> list[tuple]:
    """Every transfer of ``chain`` with every column that carries meaning, in a stable order."""
    return con.execute(
        "SELECT block_number, block_time, tx_hash, tx_index, kind, position, seq, from_address, to_address, asset, "
        "amount, amount_overflow::VARCHAR FROM transfers WHERE chain = ? ORDER BY ALL",
        [chain],
    ).fetchall()
