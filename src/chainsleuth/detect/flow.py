"""A traced flow in the shape the typology detectors and fingerprints read.

Built from a ``chainsleuth.trace`` ``TraceResult`` (or its ``to_dict()``): edges and exits with amounts
back to ``int`` and times to ``datetime``, plus what the ledger knows about the addresses and assets
involved (labels, decimals), so detectors stay pure functions of the flow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from chainsleuth.detect.services import address_labels_table

#: Pseudo-assets that carry only a valuation (case files giving USD values, no token amounts): their
#: "amounts" say nothing about asset choice or round sizes, so asset-based features skip them.
VALUATION_ONLY_ASSETS = frozenset({"USD"})


@dataclass(frozen=True)
class Edge:
    chain: str
    tx_hash: str
    block_number: int | None
    time: datetime | None
    src: str
    dst: str
    asset: str
    amount: int
    usd: float | None
    hop: int
    kind: str  # transfer | swap | bridge | mixer | demix


@dataclass(frozen=True)
class Exit:
    address: str
    chain: str
    label: str | None
    category: str | None
    entity: str | None
    asset: str
    amount: int
    usd: float | None
    tx_hashes: tuple[str, ...]
    hop: int | None


@dataclass
class Flow:
    """Edges and exits of one traced flow, with label and asset lookups."""

    sources: list[str]
    edges: list[Edge]
    exits: list[Exit]
    labels: dict[tuple[str, str], dict] = field(default_factory=dict)  # (chain, address) -> label row
    decimals: dict[tuple[str, str], int] = field(default_factory=dict)  # (chain, asset) -> decimals
    symbols: dict[tuple[str, str], str] = field(default_factory=dict)  # (chain, asset) -> symbol

    def label(self, chain: str, address: str) -> dict | None:
        return self.labels.get((chain, address))

    def symbol(self, chain: str, asset: str) -> str:
        return self.symbols.get((chain, asset)) or asset

    def display(self, chain: str, asset: str, amount: int) -> float:
        """Amount in display units (ETH, not wei) using the asset's decimals (18 if unknown)."""
        return amount / 10 ** self.decimals.get((chain, asset), 18)


def _time(v: Any) -> datetime | None:
    if v is None or isinstance(v, datetime):
        return v
    return datetime.fromisoformat(str(v).replace("Z", "+00:00")).replace(tzinfo=None)


def flow_from_trace(result: Any, con: duckdb.DuckDBPyConnection | None = None) -> Flow:
    """A :class:`Flow` from a ``TraceResult`` or its dict; ``con`` fills labels and asset decimals."""
    d = result.to_dict() if hasattr(result, "to_dict") else result
    edges = [
        Edge(
            chain=e["chain"], tx_hash=e["tx_hash"], block_number=e.get("block_number"), time=_time(e.get("time")),
            src=e["from"], dst=e["to"], asset=e["asset"], amount=int(e["amount"]), usd=e.get("usd"),
            hop=int(e.get("hop") or 0), kind=e.get("kind") or "transfer",
        )
        for e in d.get("edges", [])
        if e.get("kind") != "fee" and e.get("from") and e.get("to")
    ]
    exits = [
        Exit(
            address=x["address"], chain=x["chain"], label=x.get("label"), category=x.get("category"),
            entity=x.get("entity"), asset=x["asset"], amount=int(x["amount"]), usd=x.get("usd"),
            tx_hashes=tuple(x.get("tx_hashes") or ()), hop=x.get("hop"),
        )
        for x in d.get("exits", [])
    ]
    sources = [s if isinstance(s, str) else s.get("address") for s in d.get("sources", [])]
    flow = Flow(sources=sources, edges=edges, exits=exits)
    for e in d.get("edges", []):
        if e.get("symbol"):
            flow.symbols[(e["chain"], e["asset"])] = e["symbol"]
    if con is not None:
        enrich(flow, con)
    return flow


def enrich(flow: Flow, con: duckdb.DuckDBPyConnection) -> None:
    """Fill ``flow.labels`` for every address on the flow and decimals/symbols for every asset."""
    chains = sorted({e.chain for e in flow.edges} | {x.chain for x in flow.exits})
    for chain in chains:
        addrs = sorted({a for e in flow.edges if e.chain == chain for a in (e.src, e.dst)})
        if not addrs:
            continue
        con.register("_flow_labels", address_labels_table(con, chain))
        con.register("_flow_addrs", pa.table({"address": addrs}))
        try:
            cur = con.execute("SELECT l.* FROM _flow_labels l JOIN _flow_addrs USING (address)")
            cols = [c[0] for c in cur.description]
            for r in cur.fetchall():
                row = dict(zip(cols, r, strict=True))
                flow.labels[(chain, row["address"])] = row
        finally:
            con.unregister("_flow_labels")
            con.unregister("_flow_addrs")
        for asset, symbol, decimals in con.execute(
            "SELECT asset, symbol, decimals FROM assets WHERE chain = ?", [chain]
        ).fetchall():
            if decimals is not None:
                flow.decimals[(chain, asset)] = decimals
            if symbol:
                flow.symbols[(chain, asset)] = symbol
