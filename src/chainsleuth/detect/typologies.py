"""Laundering typologies over a traced flow.

Each detector reads a :class:`~chainsleuth.detect.flow.Flow` (the tainted edges and exits of a trace) and
returns a :class:`Typology`: whether the pattern is present, a few named measures and the transactions that
show it. The patterns and their thresholds follow the FATF *Virtual Assets Red Flag Indicators of Money
Laundering and Terrorist Financing* (FATF, September 2020; "FATF red flags" below) and published analyses
of real cases (Elliptic, TRM Labs and Chainalysis write-ups of the Ronin, Harmony and Atomic Wallet thefts;
the FBI statements on Ronin, 2022-04-14, and Harmony, 2023-01-23). Thresholds are keyword arguments.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from chainsleuth.detect.flow import VALUATION_ONLY_ASSETS, Edge, Flow

CASH_OUT_CATEGORIES = frozenset({"exchange", "hot_wallet", "deposit", "otc"})


@dataclass
class Typology:
    """One laundering pattern found (or not) in a flow, with its evidence."""

    name: str
    detected: bool
    summary: str
    first_hop: int | None = None
    measures: dict = field(default_factory=dict)
    evidence: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "name": self.name, "detected": self.detected, "summary": self.summary, "first_hop": self.first_hop,
            "measures": self.measures, "evidence": self.evidence,
        }


def _ev(e: Edge, **extra) -> dict:
    return {
        "chain": e.chain, "tx_hash": e.tx_hash, "from": e.src, "to": e.dst, "asset": e.asset,
        "amount": str(e.amount), "usd": e.usd, "time": e.time, "hop": e.hop, **extra,
    }


def _category(flow: Flow, chain: str, address: str) -> str | None:
    lab = flow.label(chain, address)
    return (lab.get("category") or None) if lab else None


def _name(flow: Flow, chain: str, address: str) -> str | None:
    lab = flow.label(chain, address)
    if not lab:
        return None
    return lab.get("entity") or lab.get("actor") or lab.get("label")


def _first_hop(edges: list[Edge]) -> int | None:
    return min((e.hop for e in edges), default=None)


def _value(e: Edge) -> float:
    return e.usd if e.usd is not None else float(e.amount)


def peel_chain(flow: Flow, *, min_length: int = 3, min_keep: float = 0.6, max_branches: int = 3) -> Typology:
    """Peel chain: a run of addresses that each send most of what they hold to one fresh next address and
    "peel" a small part off to others, so value walks down a long chain in shrinking steps.

    Named by Meiklejohn et al., "A Fistful of Bitcoins" (IMC 2013); FATF red flags (structuring, layering
    through many intermediate addresses); seen in the Harmony 2023 laundering (Elliptic). A step is an
    address whose tainted outflow in one asset goes to 2..``max_branches`` recipients with one taking at
    least ``min_keep`` of it; the chain length is the longest run of steps following the largest branch.
    """
    out: dict[tuple[str, str, str], dict[str, list[Edge]]] = defaultdict(lambda: defaultdict(list))
    for e in flow.edges:
        if e.kind == "transfer":
            out[(e.chain, e.src, e.asset)][e.dst].append(e)
    step: dict[tuple[str, str, str], tuple[str, list[Edge]]] = {}
    for key, by_dst in out.items():
        if not 2 <= len(by_dst) <= max_branches:
            continue
        totals = {d: sum(_value(e) for e in es) for d, es in by_dst.items()}
        total = sum(totals.values())
        big = max(totals, key=lambda d: totals[d])
        if total > 0 and totals[big] >= min_keep * total:
            step[key] = (big, [e for es in by_dst.values() for e in es])
    best: list[list[Edge]] = []
    memo: dict[tuple[str, str, str], list[list[Edge]]] = {}

    def walk(key, seen) -> list[list[Edge]]:
        if key in memo:
            return memo[key]
        if key not in step or key in seen:
            return []
        nxt, edges = step[key]
        rest = walk((key[0], nxt, key[2]), seen | {key})
        memo[key] = [edges, *rest]
        return memo[key]

    for key in step:
        chain = walk(key, frozenset())
        if len(chain) > len(best):
            best = chain
    length = len(best)
    evidence = [_ev(e) for es in best for e in es]
    return Typology(
        "peel_chain", length >= min_length,
        f"longest peel chain: {length} steps" if length else "no peel steps",
        _first_hop([e for es in best for e in es]) if length >= min_length else None,
        {"longest": length, "peel_steps": len(step)}, evidence if length >= min_length else [],
    )


def fan_out(flow: Flow, *, min_branches: int = 5, window: timedelta = timedelta(days=1)) -> Typology:
    """Fan-out split: one address sends tainted value to many (>= ``min_branches``) distinct addresses
    within ``window``, to break one large amount into many small, unlinkable ones.

    FATF red flags ("transactions structured in small amounts ... to multiple wallets"); the Ronin and
    Harmony 2022 launderings split into many intermediate wallets before mixing (Elliptic, 2022).
    """
    by_src: dict[tuple[str, str], list[Edge]] = defaultdict(list)
    for e in flow.edges:
        if e.kind == "transfer" and e.time is not None:
            by_src[(e.chain, e.src)].append(e)
    hits: list[tuple[int, list[Edge]]] = []
    for es in by_src.values():
        es.sort(key=lambda e: e.time)
        best: list[Edge] = []
        j = 0
        for i in range(len(es)):
            while es[i].time - es[j].time > window:
                j += 1
            win = es[j : i + 1]
            if len({e.dst for e in win}) > len({e.dst for e in best}):
                best = win
        n = len({e.dst for e in best})
        if n >= min_branches:
            hits.append((n, best))
    hits.sort(key=lambda h: -h[0])
    edges = [e for _, es in hits for e in es]
    degrees = [n for n, _ in hits]
    return Typology(
        "fan_out", bool(hits),
        f"{len(hits)} addresses split into >= {min_branches} branches (max {max(degrees, default=0)})",
        _first_hop(edges), {"splitters": len(hits), "max_branches": max(degrees, default=0)},
        [_ev(e) for e in edges[:200]],
    )


def fan_in(flow: Flow, *, min_sources: int = 5) -> Typology:
    """Fan-in consolidation: tainted value from many (>= ``min_sources``) addresses gathered into one
    address that is not a service, typically before a mixer deposit or an exchange cash-out.

    FATF red flags (funds from many wallets consolidated); the drainer-to-consolidation step of the Atomic
    Wallet theft (Elliptic, 2023) and the Harmony 2023 consolidation before exchanges (FBI, 2023-01-23).
    """
    by_dst: dict[tuple[str, str], list[Edge]] = defaultdict(list)
    for e in flow.edges:
        if e.kind == "transfer" and _category(flow, e.chain, e.dst) is None:
            by_dst[(e.chain, e.dst)].append(e)
    hits = [(len({e.src for e in es}), es) for es in by_dst.values() if len({e.src for e in es}) >= min_sources]
    hits.sort(key=lambda h: -h[0])
    edges = [e for _, es in hits for e in es]
    return Typology(
        "fan_in", bool(hits),
        f"{len(hits)} consolidation addresses (max {max((n for n, _ in hits), default=0)} inputs)",
        _first_hop(edges), {"consolidators": len(hits), "max_sources": max((n for n, _ in hits), default=0)},
        [_ev(e) for e in edges[:200]],
    )


def swap_hopping(flow: Flow, *, min_swaps: int = 1) -> Typology:
    """Swap hopping: tainted value changes asset on DEXes (stablecoins -> ETH, ETH -> WBTC ...), which
    escapes token freezes and breaks naive single-asset tracing.

    FATF red flags (conversion between virtual assets without business rationale); the Harmony 2022 and
    Ronin thieves swapped stolen tokens to ETH on Uniswap/DEXes before mixing (Elliptic, June 2022; FBI).
    A swap is a ``swap`` edge of the trace or a transfer to a DEX-labelled address.
    """
    swaps = [e for e in flow.edges if e.kind == "swap" or _category(flow, e.chain, e.dst) == "dex"]
    received: dict[tuple[str, str], set[str]] = defaultdict(set)
    for e in flow.edges:
        received[(e.chain, e.dst)].add(flow.symbol(e.chain, e.asset))
    pairs = Counter()
    for e in swaps:
        for a in received.get((e.chain, e.src), set()) - {flow.symbol(e.chain, e.asset)}:
            pairs[f"{a}->{flow.symbol(e.chain, e.asset)}"] += 1
    assets = sorted({flow.symbol(e.chain, e.asset) for e in swaps})
    return Typology(
        "swap_hopping", len(swaps) >= min_swaps,
        f"{len(swaps)} swaps; assets {', '.join(assets) or '-'}", _first_hop(swaps),
        {"swaps": len(swaps), "assets": assets, "pairs": dict(pairs.most_common())},
        [_ev(e) for e in swaps[:200]],
    )


def chain_hopping(flow: Flow) -> Typology:
    """Chain hopping: tainted value crosses chains through bridges (e.g. Harmony -> Ethereum, Ethereum ->
    Bitcoin via renBTC/Avalanche bridge in the Ronin laundering), so a single-chain investigator loses it.

    FATF red flags (use of cross-chain services); Elliptic, "The state of cross-chain crime" (2023).
    Detected from ``bridge`` edges, bridge-labelled recipients, or edges on more than one chain.
    """
    bridges = [e for e in flow.edges if e.kind == "bridge" or _category(flow, e.chain, e.dst) == "bridge"]
    chains = sorted({e.chain for e in flow.edges})
    names = sorted({n for e in bridges if (n := _name(flow, e.chain, e.dst))})
    return Typology(
        "chain_hopping", bool(bridges) or len(chains) > 1,
        f"chains {', '.join(chains) or '-'}; {len(bridges)} bridge transfers", _first_hop(bridges),
        {"chains": chains, "bridge_transfers": len(bridges), "bridges": names}, [_ev(e) for e in bridges[:200]],
    )


def mixer_use(flow: Flow) -> Typology:
    """Mixer use: deposits into a mixer (Tornado Cash, Railgun, Sinbad, Blender, CoinJoin ...), reporting
    which mixer, how much and the denominations used (fixed-denomination pools show as round sizes).

    FATF red flags (use of mixers/tumblers); OFAC designations of Blender (2022-05-06), Tornado Cash
    (2022-08-08) and Sinbad (2023-11-29) for laundering Lazarus Group thefts; FBI 2023-01-23 (Railgun).
    """
    deposits = [
        e for e in flow.edges
        if e.kind == "mixer" or _category(flow, e.chain, e.dst) in ("mixer", "coinjoin")
    ]
    demixed = [e for e in flow.edges if e.kind == "demix"]
    per_mixer: dict[str, dict] = {}
    for e in deposits:
        name = _name(flow, e.chain, e.dst) or "unlabelled mixer"
        m = per_mixer.setdefault(name, {"mixer": name, "deposits": 0, "usd": 0.0, "amounts": Counter()})
        m["deposits"] += 1
        m["usd"] += e.usd or 0.0
        m["amounts"][(flow.symbol(e.chain, e.asset), e.asset, e.chain)] += e.amount
    denominations = Counter()
    for e in deposits:
        if e.asset in VALUATION_ONLY_ASSETS:
            continue
        denominations[f"{flow.display(e.chain, e.asset, e.amount):g} {flow.symbol(e.chain, e.asset)}"] += 1
    mixers = [
        {"mixer": m["mixer"], "deposits": m["deposits"], "usd": m["usd"],
         "amounts": [{"asset": a, "symbol": s, "chain": c, "amount": str(v)} for (s, a, c), v in m["amounts"].items()]}
        for m in sorted(per_mixer.values(), key=lambda m: -m["deposits"])
    ]
    return Typology(
        "mixer_use", bool(deposits),
        f"{len(deposits)} mixer deposits into {', '.join(per_mixer) or '-'}", _first_hop(deposits),
        {"mixers": mixers, "denominations": dict(denominations.most_common(10)), "demixed_links": len(demixed)},
        [_ev(e) for e in deposits[:200]],
    )


def cash_out(flow: Flow) -> Typology:
    """Exchange / OTC cash-out: tainted value reaches a service that can convert it to fiat or freeze it
    (exchange deposit or hot wallet, OTC desk).

    FATF red flags (deposits to exchanges with weak KYC, OTC brokers); Ronin (Elliptic 2022: early deposits
    to centralised exchanges), Harmony 2023 (FBI: three virtual-asset service providers).
    """
    by_entity: dict[str, dict] = {}
    hops = []
    for x in flow.exits:
        if (x.category or "") not in CASH_OUT_CATEGORIES:
            continue
        name = x.entity or x.label or x.address
        d = by_entity.setdefault(name, {"entity": name, "category": x.category, "usd": 0.0, "exits": 0,
                                        "tx_hashes": []})
        d["exits"] += 1
        d["usd"] += x.usd or 0.0
        d["tx_hashes"].extend(x.tx_hashes)
        if x.hop is not None:
            hops.append(x.hop)
    services = sorted(by_entity.values(), key=lambda d: -d["usd"])
    evidence = [{"entity": d["entity"], "tx_hash": h} for d in services for h in d["tx_hashes"][:20]]
    return Typology(
        "cash_out", bool(services),
        f"cash-out at {len(services)} services: {', '.join(d['entity'] for d in services[:5]) or '-'}"
        + (f" and {len(services) - 5} more" if len(services) > 5 else ""), min(hops, default=None),
        {"services": [{k: v for k, v in d.items() if k != "tx_hashes"} for d in services]}, evidence,
    )


def hold_times(flow: Flow) -> list[tuple[float, Edge, Edge]]:
    """Per intermediate address: seconds from receiving tainted value to forwarding it, with the two edges."""
    ins: dict[tuple[str, str], list[Edge]] = defaultdict(list)
    outs: dict[tuple[str, str], list[Edge]] = defaultdict(list)
    for e in flow.edges:
        if e.time is None:
            continue
        ins[(e.chain, e.dst)].append(e)
        outs[(e.chain, e.src)].append(e)
    res = []
    for key, o in outs.items():
        i = ins.get(key)
        if not i:
            continue
        first_in = min(i, key=lambda e: e.time)
        later = [e for e in o if e.time >= first_in.time]
        if not later:
            continue
        first_out = min(later, key=lambda e: e.time)
        res.append(((first_out.time - first_in.time).total_seconds(), first_in, first_out))
    return res


def dormancy(flow: Flow, *, min_days: float = 7.0) -> Typology:
    """Dormancy then movement: tainted value rests untouched for weeks or months, then moves (often once
    the attention has faded or a new laundering route opened).

    FATF red flags (dormant wallets suddenly active); Harmony: stolen in June 2022, moved through Railgun
    in January 2023 (FBI, 2023-01-23); Ronin funds moved in waves weeks apart (Chainalysis, 2022).
    """
    long = [(s, a, b) for s, a, b in hold_times(flow) if s >= min_days * 86400]
    long.sort(key=lambda x: -x[0])
    evidence = [{**_ev(b), "received_in": a.tx_hash, "dormant_days": round(s / 86400, 2)} for s, a, b in long[:50]]
    return Typology(
        "dormancy", bool(long),
        f"{len(long)} addresses held funds >= {min_days:g} days (max {long[0][0] / 86400:.1f})" if long
        else "no dormant funds",
        _first_hop([b for _, _, b in long]), {"dormant_addresses": len(long),
                                             "max_days": round(long[0][0] / 86400, 2) if long else 0.0},
        evidence,
    )


def is_round(amount: int, decimals: int, *, max_sig: int = 2, finest: int = 3) -> bool:
    """Whether ``amount`` (base units) has at most ``max_sig`` significant digits in display units and no
    digit below 10^-``finest`` of a unit (100 ETH, 0.5 ETH, 20,000 USDT are round; 1.2345 ETH is not)."""
    if amount <= 0:
        return False
    k = 0
    while amount % 10 == 0:
        amount //= 10
        k += 1
    return amount < 10**max_sig and k >= decimals - finest


def round_amounts(flow: Flow, *, min_share: float = 0.25, min_count: int = 3) -> Typology:
    """Round-amount splitting: splits in round sizes (100 ETH, 50,000 USDT) rather than whatever balance
    was at hand, a hand-made or scripted structuring step and the shape of fixed mixer pools.

    FATF red flags (structuring in round amounts / below thresholds); Lazarus splits of Ronin ETH into
    round amounts before Tornado Cash (Chainalysis, 2022; see the Ronin fingerprint's derived values).
    """
    moves = [e for e in flow.edges if e.kind in ("transfer", "mixer") and e.asset not in VALUATION_ONLY_ASSETS]
    rounds = [e for e in moves if is_round(e.amount, _decimals(flow, e))]
    share = len(rounds) / len(moves) if moves else 0.0
    return Typology(
        "round_amounts", len(rounds) >= min_count and share >= min_share,
        f"{len(rounds)} of {len(moves)} transfers in round amounts ({share:.0%})", _first_hop(rounds),
        {"round": len(rounds), "transfers": len(moves), "share": round(share, 4)}, [_ev(e) for e in rounds[:200]],
    )


def _decimals(flow: Flow, e: Edge) -> int:
    return flow.decimals.get((e.chain, e.asset), 18)


#: Every detector, by name, in the order they are reported.
DETECTORS: dict[str, Callable[[Flow], Typology]] = {
    "peel_chain": peel_chain,
    "fan_out": fan_out,
    "fan_in": fan_in,
    "swap_hopping": swap_hopping,
    "chain_hopping": chain_hopping,
    "mixer_use": mixer_use,
    "cash_out": cash_out,
    "dormancy": dormancy,
    "round_amounts": round_amounts,
}


def detect_typologies(flow: Flow) -> list[Typology]:
    """Run every detector on ``flow``."""
    return [fn(flow) for fn in DETECTORS.values()]
