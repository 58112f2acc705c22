"""Serialise the incidents' own records into ``truth.json`` and the services into ``tags.yaml``.

Nothing here recomputes flows: hops, fees, conversions and final balances come from the incident ledgers that
emitted the transactions; this module only resolves ids into hashes, addresses, times and USD estimates.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from chainsleuth.simulate.economy import World
from chainsleuth.simulate.evm import FinalEvm
from chainsleuth.simulate.incidents import Incident
from chainsleuth.simulate.utxo import FinalUtxo
from chainsleuth.simulate.world import ASSETS, T0, Service

FORMAT = "chainsleuth-simulated-truth/1"

#: Service category + address role -> the category a tracer should report for funds resting there.
_GRAPHSENSE = {
    "exchange": "exchange",
    "dex": "defi_dex",
    "mixer": "mixing_service",
    "bridge": "defi_bridge",
    "otc": "otc_broker",
    "defi": "defi_lending",
    "miner": "miner",
}


def _iso(t: int) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Resolver:
    """Ids -> strings, and address -> (service, category) for final resting places."""

    def __init__(self, w: World, fe: FinalEvm, fb: FinalUtxo):
        self.w, self.fe, self.fb = w, fe, fb
        self.addr = {"ethereum": w.eth_book.strings(), "bitcoin": w.btc_book.strings()}
        # every service address (hundreds of thousands of deposit addresses in a large world) as sorted id
        # arrays per chain, looked up by binary search; the last service/role listing an address wins
        labels: list[tuple[str, str]] = []
        parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
        for s in w.services.values():
            for role, ids in s.addresses.items():
                cat = s.category
                if s.category == "exchange":
                    cat = {"deposit": "deposit", "hot": "hot_wallet"}.get(role, "exchange")
                labels.append((s.name, cat))
                parts[s.chain].append((np.asarray(ids, np.int64), np.full(len(ids), len(labels) - 1)))
        self._labels = labels
        self._where: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for chain, ps in parts.items():
            ids = np.concatenate([p[0] for p in ps])[::-1]
            lab = np.concatenate([p[1] for p in ps])[::-1]
            uniq, first = np.unique(ids, return_index=True)  # first in reversed order = last listed
            self._where[chain] = (uniq, lab[first])

    def where(self, chain: str, a: int) -> tuple[str, str] | None:
        """(service name, category) of a service address, None for any other address."""
        ids, lab = self._where.get(chain, (np.zeros(0, np.int64), np.zeros(0, np.int64)))
        i = int(np.searchsorted(ids, a))
        return self._labels[int(lab[i])] if i < len(ids) and ids[i] == a else None

    def strings(self, chain: str, ids: list[int] | np.ndarray) -> list[str]:
        """Many addresses at once (the services' address lists)."""
        return pc.take(self.addr[chain], pa.array(np.asarray(ids, np.int64))).to_pylist()

    def a(self, chain: str, i: int) -> str:
        return self.addr[chain][int(i)].as_py()

    def tx(self, chain: str, i: int) -> str:
        return (self.fe if chain == "ethereum" else self.fb).tx_hash(i)

    def time(self, chain: str, i: int) -> int:
        return (self.fe if chain == "ethereum" else self.fb).tx_time(i)

    def asset_id(self, asset: str) -> str:
        if asset in ("ETH", "BTC"):
            return asset
        return self.a("ethereum", self.w.eth.token_addr[asset])

    def usd(self, asset: str, amount: int, t: int) -> float:
        day = min(max((t - T0) // 86400, 0), len(self.w.prices[asset]) - 1)
        return round(amount / 10 ** ASSETS[asset][1] * float(self.w.prices[asset][day]), 2)


def incident_truth(inc: Incident, r: Resolver) -> dict:
    end_t = T0 + r.w.cfg.end
    hops = []
    times = []
    for h in inc.hops:
        t = r.time(h.chain, h.tx)
        times.append(t)
        d = {
            "chain": h.chain,
            "tx_hash": r.tx(h.chain, h.tx),
            "time": _iso(t),
            "from": r.a(h.chain, h.frm),
            "to": r.a(h.chain, h.to),
            "asset": h.asset,
            "asset_id": r.asset_id(h.asset),
            "amount": str(h.amount),
            "clean_amount": str(h.clean),
            "kind": h.kind,
        }
        if h.frm_all:
            d["from_all"] = [r.a(h.chain, x) for x in h.frm_all]
        hops.append(d)
    order = sorted(range(len(hops)), key=lambda i: (hops[i]["time"], i))
    hops = [hops[i] for i in order]
    finals = []
    by_service: dict[tuple[str | None, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    final_sum: dict[str, int] = defaultdict(int)
    for (chain, addr, asset), amount in sorted(inc.stolen.items()):
        if amount == 0:
            continue
        if amount < 0:
            raise AssertionError(f"{inc.id}: negative stolen balance at {chain}:{addr} {asset}")
        service, cat = r.where(chain, addr) or (None, "unlabeled")
        finals.append(
            {
                "chain": chain,
                "address": r.a(chain, addr),
                "asset": asset,
                "asset_id": r.asset_id(asset),
                "amount": str(amount),
                "usd": r.usd(asset, amount, end_t),
                "service": service,
                "category": cat,
            }
        )
        by_service[(service, cat)][asset] += amount
        final_sum[asset] += amount
    acct = {}
    for asset in sorted(set(inc.acct) | set(final_sum)):
        a = inc.acct[asset]
        row = {
            k: str(a.get(k, 0))
            for k in ("stolen", "swapped_in", "bridged_in", "fees", "swapped_out", "bridged_out")
        }
        row["final"] = str(final_sum.get(asset, 0))
        lhs = a.get("stolen", 0) + a.get("swapped_in", 0) + a.get("bridged_in", 0)
        rhs = final_sum.get(asset, 0) + a.get("fees", 0) + a.get("swapped_out", 0) + a.get("bridged_out", 0)
        if lhs != rhs:
            raise AssertionError(f"{inc.id}: {asset} does not add up: {lhs} in, {rhs} out")
        acct[asset] = row
    victims = [
        {
            "chain": v["chain"],
            "address": r.a(v["chain"], v["address"]),
            "asset": v["asset"],
            "asset_id": r.asset_id(v["asset"]),
            "amount": str(v["amount"]),
            "tx_hash": r.tx(v["chain"], v["tx"]),
            "time": _iso(r.time(v["chain"], v["tx"])),
        }
        for v in inc.victims
    ]
    stolen_usd = sum(r.usd(v["asset"], v["amount"], r.time(v["chain"], v["tx"])) for v in inc.victims)
    seen = set()
    attackers = []
    for chain, a, role in inc.attackers:
        if (chain, a) not in seen:
            seen.add((chain, a))
            d = {"chain": chain, "address": r.a(chain, a), "role": role}
            if role == "exchange_deposit":
                d["service"] = (r.where(chain, a) or (None, ""))[0]
            attackers.append(d)
    return {
        "id": inc.id,
        "profile": inc.profile,
        "actor": inc.actor,
        "start": min(hops, key=lambda h: h["time"])["time"] if hops else None,
        "end": max(hops, key=lambda h: h["time"])["time"] if hops else None,
        "stolen": {a: str(inc.acct[a]["stolen"]) for a in sorted(inc.acct) if inc.acct[a].get("stolen")},
        "stolen_usd": round(stolen_usd, 2),
        "victims": victims,
        "attacker_addresses": attackers,
        "hops": hops,
        "fees": [
            {"chain": c, "tx_hash": r.tx(c, t), "asset": a, "amount": str(x)} for c, t, a, x in inc.fees
        ],
        "clean_in": [
            {
                "chain": c["chain"],
                "address": r.a(c["chain"], c["address"]),
                "asset": c["asset"],
                "amount": str(c["amount"]),
                "tx_hash": r.tx(c["chain"], c["tx"]),
                "source": c["source"],
            }
            for c in inc.clean_in
        ],
        "swaps": [
            {
                "chain": s["chain"],
                "tx_hash": r.tx(s["chain"], s["tx"]),
                "address": r.a(s["chain"], s["address"]),
                "asset_in": s["asset_in"],
                "amount_in": str(s["amount_in"]),
                "asset_out": s["asset_out"],
                "amount_out": str(s["amount_out"]),
            }
            for s in inc.swaps
        ],
        "bridges": [
            {
                "lock_chain": b["lock_chain"],
                "lock_tx": r.tx(b["lock_chain"], b["lock_tx"]),
                "asset_in": b["asset_in"],
                "amount_in": str(b["amount_in"]),
                "release_chain": b["release_chain"],
                "release_tx": r.tx(b["release_chain"], b["release_tx"]),
                "asset_out": b["asset_out"],
                "amount_out": str(b["amount_out"]),
            }
            for b in inc.bridges
        ],
        "mixer_links": [
            {
                "chain": m["chain"],
                "deposit_tx": r.tx(m["chain"], m["deposit_tx"]),
                "withdraw_tx": r.tx(m["chain"], m["withdraw_tx"]),
                "pool": r.a(m["chain"], m["pool"]),
                "denomination": str(m["denomination"]),
                "recipient": r.a(m["chain"], m["recipient"]),
            }
            for m in inc.mixer_links
        ],
        "final": finals,
        "final_by_service": [
            {"service": s, "category": c, "amounts": {a: str(v) for a, v in sorted(am.items())}}
            for (s, c), am in sorted(by_service.items(), key=lambda kv: (kv[0][0] or "", kv[0][1]))
        ],
        "accounting": acct,
    }


def build_truth(w: World, incidents: list[Incident], fe: FinalEvm, fb: FinalUtxo) -> dict:
    r = Resolver(w, fe, fb)
    services = []
    for s in sorted(w.services.values(), key=lambda s: (s.name, s.chain)):
        if s.category == "token":
            continue
        services.append(
            {
                "name": s.name,
                "category": s.category,
                "chain": s.chain,
                "addresses": {
                    role: [
                        {"address": a, "tagged": t}
                        for a, t in zip(r.strings(s.chain, ids), _is_tagged(s, ids), strict=True)
                    ]
                    for role, ids in sorted(s.addresses.items())
                },
            }
        )
    tokens = [{"symbol": t, "address": r.asset_id(t), "decimals": ASSETS[t][1]} for t in w.eth.token_addr]
    return {
        "format": FORMAT,
        "seed": w.cfg.seed,
        "transfers_requested": w.cfg.transfers,
        "start": _iso(T0),
        "end": _iso(T0 + w.cfg.end),
        "chains": {
            "ethereum": {"native": "ETH", "decimals": 18, "tokens": tokens},
            "bitcoin": {"native": "BTC", "decimals": 8},
        },
        "conventions": {
            "fees": "gas is paid from the actor's clean ETH first, then from stolen ETH (listed in fees)",
            "transfers": "value sent takes stolen units first, then clean; each hop gives both parts",
            "final": "stolen units where they rest at the end: the first service that took custody "
            "(deposit address, OTC desk, mixer pool, relayer, coordinator) or an actor's address",
            "accounting": "per asset: stolen + swapped_in + bridged_in == final + fees + swapped_out + bridged_out",
        },
        "services": services,
        "incidents": [incident_truth(i, r) for i in incidents],
    }


def _is_tagged(s: Service, ids: list[int]) -> list[bool]:
    return np.isin(np.asarray(ids, np.int64), np.fromiter(s.tagged, np.int64, len(s.tagged))).tolist()


def write_tags(w: World, path: Path) -> int:
    """A GraphSense TagPack of the publicly known service addresses (incomplete on purpose)."""
    books = {"ethereum": w.eth_book.strings(), "bitcoin": w.btc_book.strings()}
    tags = []
    for s in sorted(w.services.values(), key=lambda s: (s.name, s.chain)):
        if s.category == "token":
            continue
        cat = "coinjoin" if s.name.endswith("CoinJoin") else _GRAPHSENSE[s.category]
        for role, ids in sorted(s.addresses.items()):
            public = np.asarray(ids, np.int64)[_is_tagged(s, ids)]
            label = f"{s.name} {role.replace('_', ' ')}"
            for a in pc.take(books[s.chain], pa.array(public)).to_pylist():
                tags.append(
                    {
                        "address": a,
                        "currency": "ETH" if s.chain == "ethereum" else "BTC",
                        "label": label,
                        "category": cat,
                        "actor": s.name.lower().replace(" ", "_"),
                    }
                )
    doc = {
        "title": "chainsleuth simulated world: public service tags",
        "creator": "chainsleuth simulator",
        "description": "Service addresses a public tag source would know in the simulated world. Deliberately "
        "incomplete: most exchange deposit addresses, some relayers and the OTC desk's bitcoin "
        "address are missing.",
        "is_public": True,
        "lastmod": dt.datetime.fromtimestamp(T0 + w.cfg.end, dt.UTC).date(),
        "source": "https://chainsleuth.invalid/simulated",
        "confidence": "service_data",
        "tags": tags,
    }
    path.write_text(_yaml_dump(doc), encoding="utf-8")
    return len(tags)


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_ALNUM = re.compile(r"[0-9A-Za-z]+")


def _yaml_dump(doc: dict) -> str:
    """``yaml.dump(doc, sort_keys=False, width=200)`` to the byte, with the ``tags`` list emitted directly:
    PyYAML's representer costs about 25 us a scalar, which is seconds for a large world's tag list."""
    head = yaml.dump({**doc, "tags": []}, Dumper=_DUMPER, sort_keys=False, width=200)
    if not head.endswith("tags: []\n"):
        raise AssertionError("tags must be the last key of the TagPack")
    lines = [head[: -len(" []\n")] + "\n"]
    for t in doc["tags"]:
        for i, (k, v) in enumerate(t.items()):
            lines.append(f"{'- ' if i == 0 else '  '}{k}: {_yaml_scalar(v)}\n")
    return "".join(lines) if doc["tags"] else head


@functools.lru_cache(maxsize=4096)
def _yaml_scalar_slow(v: str) -> str:
    text = yaml.dump(v, Dumper=_DUMPER, width=200)
    one = text.removesuffix("\n...\n").removesuffix("\n")
    if "\n" in one:
        raise AssertionError(f"tag value {v!r} does not fit on one line")
    return one


def _yaml_scalar(v: str) -> str:
    """A string scalar as PyYAML writes it in a block mapping. Letters and digits only (every address) are
    written plain, or single-quoted where a plain scalar would read as another type (``0x...`` is an int to
    YAML 1.1); anything else is asked of PyYAML once per distinct value."""
    if not _ALNUM.fullmatch(v):
        return _yaml_scalar_slow(v)
    for _tag, regexp in _RESOLVERS.get(v[0], ()):
        if regexp.match(v):
            return f"'{v}'"
    return v


_RESOLVERS = yaml.resolver.Resolver.yaml_implicit_resolvers
