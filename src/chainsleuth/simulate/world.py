"""The simulated world's fixed parts: scale, clock, prices, address books and the registry of services.

Every address in the world is created through an :class:`AddressBook`, which records its true owner and role
(written to ``owners.csv``) and draws its bytes from the seeded generator, so a seed fixes every string.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chainsleuth.errors import ChainsleuthError
from chainsleuth.simulate.encode import base58check_arrow, bech32_p2wpkh, fixed_width_strings, hex_matrix

#: Start of every simulated world (UTC): genesis of both chains.
T0 = 1_709_251_200  # 2024-03-01 00:00:00
DAY = 86_400
ETH_BLOCK_S = 12
BTC_BLOCK_S = 600

#: Named scales: approximate number of value transfers written (both chains together).
SCALES = {"small": 100_000, "medium": 1_000_000, "large": 10_000_000}

#: Asset registry: symbol -> (chain, decimals). Token contract addresses are drawn per world.
ASSETS = {
    "ETH": ("ethereum", 18),
    "USDT": ("ethereum", 6),
    "USDC": ("ethereum", 6),
    "WBTC": ("ethereum", 8),
    "BTC": ("bitcoin", 8),
}
TOKENS = ("USDT", "USDC", "WBTC")
TOKEN_NAMES = {"USDT": "Tether USD", "USDC": "USD Coin", "WBTC": "Wrapped BTC"}


@dataclass(frozen=True)
class Config:
    """Sizes derived from the requested number of transfers (``scale``)."""

    seed: int
    transfers: int
    days: int = 30
    incidents: tuple[tuple[str, int], ...] = (("lazarus-like", 1), ("exploiter", 1), ("scammer", 1))

    @property
    def k(self) -> float:
        """Size factor relative to the small world."""
        return self.transfers / SCALES["small"]

    @property
    def end(self) -> int:
        return self.days * DAY

    @property
    def quiet_until(self) -> int:
        """Incidents start after this many seconds: victims hold balances from the quiet history."""
        return int(self.end * 0.55)


def parse_scale(scale: str | int) -> int:
    """``small|medium|large`` or a positive number of transfers."""
    if isinstance(scale, int):
        n = scale
    elif scale in SCALES:
        n = SCALES[scale]
    else:
        try:
            n = int(str(scale).replace("_", ""))
        except ValueError:
            raise ChainsleuthError(
                f"unknown scale {scale!r}: use small, medium, large or a number of transfers"
            ) from None
    if n < 20_000:
        raise ChainsleuthError(f"scale {n} too small: the world needs at least 20000 transfers")
    return n


PROFILES = ("lazarus-like", "exploiter", "scammer")


def parse_incidents(spec: str | None) -> tuple[tuple[str, int], ...]:
    """``lazarus-like=2,exploiter=1,scammer=3`` (profiles omitted get 0); None -> one of each."""
    if spec is None:
        return tuple((p, 1) for p in PROFILES)
    counts = dict.fromkeys(PROFILES, 0)
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, num = part.partition("=")
        if name not in counts:
            raise ChainsleuthError(f"unknown incident profile {name!r}: choose from {', '.join(PROFILES)}")
        try:
            counts[name] = int(num) if num else 1
        except ValueError:
            raise ChainsleuthError(f"incident count for {name!r} must be an integer, got {num!r}") from None
        if not 0 <= counts[name] <= 20:
            raise ChainsleuthError(f"incident count for {name!r} must be between 0 and 20")
    return tuple(counts.items())


# ------------------------------------------------------------------------------------------------ prices
def make_prices(rng: np.random.Generator, days: int) -> dict[str, np.ndarray]:
    """Daily USD prices per symbol: geometric random walks (ETH, BTC), pegs with noise (USDT, USDC), WBTC
    tracking BTC. Index = day number since T0."""
    eth = 3400 * np.exp(np.cumsum(rng.normal(0, 0.035, days)))
    btc = 62000 * np.exp(np.cumsum(rng.normal(0, 0.028, days)))
    return {
        "ETH": np.round(eth, 2),
        "BTC": np.round(btc, 2),
        "WBTC": np.round(btc * (1 + rng.normal(0, 0.0015, days)), 2),
        "USDT": np.round(1 + rng.normal(0, 0.0006, days), 5),
        "USDC": np.round(1 + rng.normal(0, 0.0004, days), 5),
    }


def prices_table(prices: dict[str, np.ndarray]) -> pa.Table:
    import datetime as dt

    start = dt.datetime.fromtimestamp(T0, dt.UTC).date()
    rows_sym, rows_day, rows_usd = [], [], []
    for sym in sorted(prices):
        for d, usd in enumerate(prices[sym]):
            rows_sym.append(sym)
            rows_day.append((start + dt.timedelta(days=d)).isoformat())
            rows_usd.append(float(usd))
    return pa.table({"symbol": rows_sym, "day": rows_day, "usd": rows_usd})


def convert(
    amount: int, src: str, dst: str, day: int, prices: dict[str, np.ndarray], keep: float = 1.0
) -> int:
    """``amount`` base units of ``src`` worth of ``dst`` at ``day``'s prices, times ``keep`` (fees), floored."""
    usd = amount * float(prices[src][day]) / 10 ** ASSETS[src][1]
    return int(math.floor(usd * keep / float(prices[dst][day]) * 10 ** ASSETS[dst][1]))


# -------------------------------------------------------------------------------------------- addresses
class Numbered(NamedTuple):
    """Owner names ``prefix + str(number)`` (``user:b17``) for many addresses, kept as numbers: the strings
    are made once, in Arrow, when ``owners.csv`` is written."""

    prefix: str
    numbers: np.ndarray


class Coded(NamedTuple):
    """Owner names ``names[codes[i]]`` for many addresses (the exchange of each deposit address)."""

    names: tuple[str, ...]
    codes: np.ndarray


Names = str | Numbered | Coded | np.ndarray


class AddressBook:
    """All addresses of one chain: bytes drawn from the seeded generator, with true owner and role.

    Ids are dense integers in creation order. EVM addresses are 20 random bytes; Bitcoin addresses carry a
    script type (0 P2WPKH bech32, 1 P2PKH, 2 P2SH) and a 20-byte hash.
    """

    def __init__(self, chain: str, rng: np.random.Generator):
        self.chain = chain
        self.rng = rng
        self._raw: list[np.ndarray] = []
        self._types: list[np.ndarray] = []
        self._owner: list[tuple[int, Names]] = []
        self._role: list[tuple[int, Names]] = []
        self.n = 0
        self._strings: pa.StringArray | None = None

    def new(self, n: int, owner: Names, role: Names, types: np.ndarray | None = None) -> np.ndarray:
        """Create ``n`` addresses; returns their ids."""
        if n <= 0:
            return np.zeros(0, dtype=np.int64)
        self._raw.append(self.rng.integers(0, 256, (n, 20), dtype=np.uint8))
        if self.chain == "bitcoin":
            if types is None:
                types = self.rng.choice(3, size=n, p=[0.8, 0.14, 0.06]).astype(np.int8)
            self._types.append(np.asarray(types, dtype=np.int8))
        self._owner.append((n, owner))
        self._role.append((n, role))
        ids = np.arange(self.n, self.n + n, dtype=np.int64)
        self.n += n
        self._strings = None
        return ids

    def one(self, owner: str, role: str, type_code: int | None = None) -> int:
        types = None if type_code is None else np.array([type_code], dtype=np.int8)
        return int(self.new(1, owner, role, types)[0])

    def zero(self, owner: str, role: str) -> int:
        """The all-zero address (ERC-20 mint source)."""
        i = self.one(owner, role)
        self._raw[-1][:] = 0
        return i

    @property
    def raw(self) -> np.ndarray:
        return np.concatenate(self._raw) if self._raw else np.zeros((0, 20), dtype=np.uint8)

    @property
    def types(self) -> np.ndarray:
        return np.concatenate(self._types) if self._types else np.zeros(0, dtype=np.int8)

    def hex40(self) -> np.ndarray:
        """``(n, 40)`` hex ASCII of every address (EVM form without 0x; Bitcoin: the script hash)."""
        return hex_matrix(self.raw)

    def strings(self) -> pa.StringArray:
        """Every address as the chain writes it."""
        if self._strings is not None:
            return self._strings
        raw = self.raw
        if self.chain != "bitcoin":
            self._strings = fixed_width_strings(hex_matrix(raw, b"0x"))
            return self._strings
        types = self.types
        parts, where = [], []
        seg = types == 0
        parts.append(bech32_p2wpkh(raw[seg]))
        where.append(np.flatnonzero(seg))
        for code, version in ((1, 0x00), (2, 0x05)):
            m = types == code
            parts.append(base58check_arrow(version, raw[m]))
            where.append(np.flatnonzero(m))
        # the three encodings side by side, then put back in address order
        inverse = np.empty(len(raw), dtype=np.int64)
        inverse[np.concatenate(where)] = np.arange(len(raw))
        self._strings = pc.take(pa.concat_arrays([p.cast(pa.string()) for p in parts]), pa.array(inverse))
        return self._strings

    def addr(self, i: int) -> str:
        return self.strings()[int(i)].as_py()

    def _expand(self, parts: list[tuple[int, Names]]) -> pa.Array:
        """One string per address from the (count, names) parts recorded by :meth:`new`. The UTXO book has
        tens of thousands of small parts and millions of addresses: every distinct constant string and every
        numbered/coded block goes into one table of strings, and a single ``take`` puts them in order."""
        consts: dict[str, int] = {}
        numbered: dict[str, list[np.ndarray]] = {}
        numbered_len: dict[str, int] = {}
        arrays: list[np.ndarray] = []
        kind = np.empty(len(parts), np.int64)  # 0 constant, 1 numbered, 2 coded, 3 array of strings
        key = np.empty(len(parts), np.int64)
        counts = np.fromiter((n for n, _ in parts), np.int64, len(parts))
        for i, (n, v) in enumerate(parts):
            if isinstance(v, Numbered):
                kind[i], key[i] = 1, numbered_len.get(v.prefix, 0)
                numbered.setdefault(v.prefix, []).append(
                    np.broadcast_to(np.asarray(v.numbers, np.int64), (n,))
                )
                numbered_len[v.prefix] = key[i] + n
            elif isinstance(v, Coded):
                kind[i] = 2
                arrays.append(np.asarray(v.codes, np.int64))
                for name in v.names:
                    consts.setdefault(name, len(consts))
            elif np.ndim(v) == 0:
                kind[i], key[i] = 0, consts.setdefault(str(v), len(consts))
            else:
                kind[i] = 3
                arrays.append(np.asarray(v))
                for name in np.unique(np.asarray(v)).tolist():
                    consts.setdefault(str(name), len(consts))
        # the table: constants, then each prefix's numbered names
        pieces = [pa.array(list(consts), pa.string())]
        base, at = {}, len(consts)
        for prefix, nums in numbered.items():
            nums_all = pa.array(np.concatenate(nums))
            pieces.append(pc.binary_join_element_wise(prefix, pc.cast(nums_all, pa.string()), ""))
            base[prefix], at = at, at + len(nums_all)
        index = np.repeat(key, counts)
        start = np.r_[0, np.cumsum(counts)]
        arr = iter(arrays)
        for i in np.flatnonzero(kind != 0).tolist():
            v = parts[i][1]
            lo, hi = int(start[i]), int(start[i + 1])
            if kind[i] == 1:
                index[lo:hi] = base[v.prefix] + key[i] + np.arange(hi - lo)
            elif kind[i] == 2:
                index[lo:hi] = np.array([consts[x] for x in v.names], np.int64)[next(arr)]
            else:
                names = next(arr)
                uniq, inv = np.unique(names, return_inverse=True)
                index[lo:hi] = np.array([consts[str(x)] for x in uniq.tolist()], np.int64)[inv]
        return pc.take(pa.concat_arrays(pieces), pa.array(index))

    def owners_table(self) -> pa.Table:
        return pa.table(
            {
                "chain": pc.take(pa.array([self.chain]), pa.array(np.zeros(self.n, np.int64))),
                "address": self.strings(),
                "owner": self._expand(self._owner),
                "role": self._expand(self._role),
            }
        )


# --------------------------------------------------------------------------------------------- services
@dataclass
class Service:
    """A service as the truth and the tag file describe it: name, category and addresses by role."""

    name: str
    category: str  # exchange | dex | mixer | bridge | otc | defi | miner
    chain: str
    addresses: dict[str, list[int]] = field(default_factory=dict)  # role -> address ids
    tagged: set[int] = field(default_factory=set)

    def add(self, role: str, ids: np.ndarray | list[int] | int) -> None:
        arr = np.atleast_1d(np.asarray(ids, dtype=np.int64)).tolist()
        self.addresses.setdefault(role, []).extend(arr)


#: Exchange names (fictional) and their deposit style on the EVM chain: EOA deposits swept by the address
#: itself (with a gas top-up for tokens) or forwarder contracts that pass ETH on inside the deposit call.
EXCHANGES = (("Binafex", "eoa"), ("Krakoin", "forwarder"), ("Coinbit", "eoa"))
