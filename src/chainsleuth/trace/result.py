"""The trace result: exit points, flow edges, resting funds and totals, each backed by transaction hashes.

JSON keys (stable; amounts are decimal strings in base units, USD floats or null where no price is known):

* ``sources``, ``chain``, ``model``, ``direction``, ``parameters``
* ``exits``: {address, chain, label, category, entity, via, asset, symbol, amount, usd, tx_hashes, hop,
  forwarded_to (deposit addresses: the wallet they sweep to)}; services where traceability ends (DEX without
  a swap back, DeFi, unmatched bridges) are listed too, with their category
* ``edges``: {chain, tx_hash, block_number, time, from, to, asset, symbol, amount, usd, hop, kind
  (transfer | swap | bridge | mixer | demix | fee), probability (demix only)}
* ``resting``: {address, chain, label, category, asset, symbol, amount, usd, tx_hashes, hop_limited}
* ``demix``: candidate mixer withdrawals {chain, mixer, deposit_tx, withdrawal_tx, to, probability, signals}
* ``totals``: {by_asset: [{chain, asset, symbol, source, to_exits, in_mixers, in_services, resting,
  below_threshold, fees, returned, bridged_out, bridged_in}], usd: {same keys}, hops, iterations, converged}.
  Per chain and asset, for haircut and FIFO: source + bridged_in = to_exits + in_mixers + in_services +
  resting + below_threshold + fees + returned + bridged_out (poison amplifies, so its right side is larger).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

TOTAL_KEYS = ("source", "to_exits", "in_mixers", "in_services", "resting", "below_threshold", "fees", "returned",
              "bridged_out", "bridged_in")


@dataclass
class ExitPoint:
    address: str
    chain: str
    label: str | None
    category: str | None
    entity: str | None
    via: str | None
    asset: str
    symbol: str | None
    amount: int
    usd: float | None
    tx_hashes: list[str]
    hop: int
    forwarded_to: str | None = None  # deposit addresses: the exchange wallet they sweep to


@dataclass
class FlowEdge:
    chain: str
    tx_hash: str
    block_number: int
    time: datetime | None
    from_: str | None
    to: str | None
    asset: str
    symbol: str | None
    amount: int
    usd: float | None
    hop: int
    kind: str
    probability: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["from"] = d.pop("from_")
        d["amount"] = str(self.amount)
        d["time"] = self.time.isoformat() if self.time else None
        if self.probability is None:
            d.pop("probability")
        return d


@dataclass
class Resting:
    address: str
    chain: str
    label: str | None
    category: str | None
    asset: str
    symbol: str | None
    amount: int
    usd: float | None
    tx_hashes: list[str]
    hop_limited: bool = False


@dataclass
class TraceResult:
    sources: list[str]
    chain: str
    model: str
    direction: str
    parameters: dict[str, Any]
    exits: list[ExitPoint] = field(default_factory=list)
    edges: list[FlowEdge] = field(default_factory=list)
    resting: list[Resting] = field(default_factory=list)
    demix: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def amounts(d: dict[str, Any]) -> dict[str, Any]:
            d["amount"] = str(d["amount"])
            return d

        by_asset = []
        for row in self.totals.get("by_asset", []):
            by_asset.append({k: (str(v) if k in TOTAL_KEYS else v) for k, v in row.items()})
        return {
            "sources": self.sources,
            "chain": self.chain,
            "model": self.model,
            "direction": self.direction,
            "parameters": self.parameters,
            "exits": [amounts(asdict(x)) for x in self.exits],
            "edges": [e.to_dict() for e in self.edges],
            "resting": [amounts(asdict(r)) for r in self.resting],
            "demix": self.demix,
            "totals": {**self.totals, "by_asset": by_asset},
            "warnings": self.warnings,
        }

    def merge(self, other: TraceResult, *, totals: bool = True) -> None:
        """Fold a continuation into this result: another chain after a bridge (its totals add up with these),
        or demixed withdrawals (expected values on probable links: their totals are kept apart, under
        ``totals.demixed``, because the same value is already counted ``in_mixers``)."""
        self.exits.extend(other.exits)
        self.edges.extend(other.edges)
        self.resting.extend(other.resting)
        self.demix.extend(other.demix)
        self.warnings.extend(other.warnings)
        if not totals:
            self.totals.setdefault("demixed", []).append(other.to_dict()["totals"])
            return
        mine = {(r["chain"], r["asset"]): r for r in self.totals.get("by_asset", [])}
        for row in other.totals.get("by_asset", []):
            key = (row["chain"], row["asset"])
            if key not in mine:
                mine[key] = dict(row)
                self.totals.setdefault("by_asset", []).append(mine[key])
            else:
                for k in TOTAL_KEYS:
                    mine[key][k] += row[k]
        usd = self.totals.setdefault("usd", dict.fromkeys(TOTAL_KEYS, 0.0))
        for k in TOTAL_KEYS:
            usd[k] = usd.get(k, 0.0) + other.totals.get("usd", {}).get(k, 0.0)
        self.totals["hops"] = max(self.totals.get("hops", 0), other.totals.get("hops", 0))
