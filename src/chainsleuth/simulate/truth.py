"""Serialise the incidents' own records into ``truth.json`` and the services into ``tags.yaml``.

Nothing here recomputes flows: hops, fees, conversions and final balances come from the incident ledgers that
emitted the transactions; this module only resolves ids into hashes, addresses, times and USD estimates.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import yaml

from chainsleuth.simulate.economy import World
from chainsleuth.simulate.evm import FinalEvm
from chainsleuth.simulate.incidents import Incident
from chainsleuth.simulate.utxo import FinalUtxo
from chainsleuth.simulate.world import ASSETS, T0

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
        self.where: dict[tuple[str, int], tuple[str, str]] = {}
        for s in w.services.values():
            for role, ids in s.addresses.items():
                cat = s.category
                if s.category == "exchange":
                    cat = {"deposit": "deposit", "hot": "hot_wallet"}.get(role, "exchange")
                for a in ids:
                    self.where[(s.chain, a)] = (s.name, cat)

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
        service, cat = r.where.get((chain, addr), (None, "unlabeled"))
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
                d["service"] = r.where.get((chain, a), (None, ""))[0]
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
                    role: [{"address": r.a(s.chain, a), "tagged": a in s.tagged} for a in ids]
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


def write_tags(w: World, path: Path) -> int:
    """A GraphSense TagPack of the publicly known service addresses (incomplete on purpose)."""
    r_addr = {"ethereum": w.eth_book.strings(), "bitcoin": w.btc_book.strings()}
    tags = []
    for s in sorted(w.services.values(), key=lambda s: (s.name, s.chain)):
        if s.category == "token":
            continue
        cat = "coinjoin" if s.name.endswith("CoinJoin") else _GRAPHSENSE[s.category]
        for role, ids in sorted(s.addresses.items()):
            for a in ids:
                if a not in s.tagged:
                    continue
                label = f"{s.name} {role.replace('_', ' ')}"
                tags.append(
                    {
                        "address": r_addr[s.chain][a].as_py(),
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
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text = yaml.dump(doc, Dumper=dumper, sort_keys=False, width=200)
    path.write_text(text, encoding="utf-8")
    return len(tags)
