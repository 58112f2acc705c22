"""The canonical data model: what every ingester writes and every analysis reads.

The DuckDB schema in ``store/migrations/0001_ledger.sql`` is the storage form of these records; this module
holds the enums, the chain registry, address normalisation and the record types that cross layer
boundaries. Amounts are ``int`` in base units (wei, satoshi) everywhere; floats only for USD estimates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from eth_utils import is_checksum_address, to_checksum_address

from chainsleuth.errors import AddressError

UINT256_MAX = 2**256 - 1
HUGEINT_MAX = 2**127 - 1
#: Account-chain addresses that destroy what they receive and mint what they send (no one holds their keys).
BURN_ADDRESSES = ("0x0000000000000000000000000000000000000000", "0x000000000000000000000000000000000000dead")


class Model(StrEnum):
    ACCOUNT = "account"
    UTXO = "utxo"


class TransferKind(StrEnum):
    NATIVE = "native"
    TOKEN = "token"
    INTERNAL = "internal"
    REWARD = "reward"


class Category(StrEnum):
    """Tag categories (a superset mapping of the GraphSense taxonomy onto what tracing needs)."""

    EXCHANGE = "exchange"
    HOT_WALLET = "hot_wallet"
    DEPOSIT = "deposit"
    MIXER = "mixer"
    BRIDGE = "bridge"
    DEX = "dex"
    OTC = "otc"
    SANCTIONED = "sanctioned"
    HACKER = "hacker"
    VICTIM = "victim"
    SCAM = "scam"
    RANSOMWARE = "ransomware"
    DEFI = "defi"
    MINER = "miner"
    GAMBLING = "gambling"
    MARKET = "market"
    PAYMENT = "payment"
    WALLET = "wallet"
    COINJOIN = "coinjoin"
    USER = "user"
    OTHER = "other"


#: Categories at which tracing stops: the funds are with a service that can freeze or identify them.
EXIT_CATEGORIES = frozenset(
    {Category.EXCHANGE, Category.HOT_WALLET, Category.DEPOSIT, Category.OTC, Category.SANCTIONED}
)


# Keyword rules for free-text labels (explorer name tags, case files): first match wins, most specific first.
_LABEL_RULES: tuple[tuple[tuple[str, ...], Category], ...] = (
    (("ofac", "sanctioned"), Category.SANCTIONED),
    (("tornado", "mixer", "mixing", "sinbad", "blender", "wasabi", "samourai", "chipmixer", "railgun"), Category.MIXER),
    (("coinjoin", "whirlpool"), Category.COINJOIN),
    (("deposit",), Category.DEPOSIT),
    (("hot wallet", "hot_wallet", "hotwallet", "cold wallet"), Category.HOT_WALLET),
    (("exploiter", "hacker", "exploit", "attacker", "lazarus", "heist", "drainer"), Category.HACKER),
    (("phish", "scam", "fake_phishing", "fraud", "ponzi"), Category.SCAM),
    (("bridge", "wormhole", "multichain", "synapse", "stargate", "hop protocol", "across protocol", "portal"), Category.BRIDGE),
    (("uniswap", "sushiswap", "curve", "1inch", "0x: exchange", "balancer", "pancakeswap", "dex", "router", "swap",
      "paraswap", "kyber", "metamask swap"), Category.DEX),
    (("otc",), Category.OTC),
    (("binance", "coinbase", "kraken", "okx", "okex", "huobi", "htx", "bitfinex", "kucoin", "bybit", "gate.io", "bitstamp",
      "gemini", "crypto.com", "bittrex", "poloniex", "ftx", "upbit", "bithumb", "mexc", "bitget", "exchange", "fixedfloat",
      "changenow", "simpleswap", "sideshift", "garantex", "paxful", "whitebit", "hitbtc", "bitmex", "deribit", "coinone",
      "coinex", "lbank", "bingx", "exmo", "exch"), Category.EXCHANGE),
    (("victim",), Category.VICTIM),
    (("ransom",), Category.RANSOMWARE),
    (("miner", "mining pool"), Category.MINER),
)


def category_from_label(label: str | None) -> str | None:
    """A best-effort category for a free-text label ("Binance 14" -> exchange, "Tornado.Cash: Router" -> mixer).

    Used where a source gives names but no categories (explorer name tags, case CSVs). Returns None when no
    rule matches, so an unknown label never turns an address into an exit point by accident.
    """
    if not label:
        return None
    text = label.lower()
    for words, category in _LABEL_RULES:
        if any(w in text for w in words):
            return category.value
    return None


@dataclass(frozen=True)
class ChainInfo:
    chain: str
    model: Model
    native_asset: str
    native_decimals: int
    address_format: str  # 'evm' | 'tron' | 'bitcoin'


#: Chains chainsleuth knows by name. Any other name may be declared with ``--model``/``--native``.
KNOWN_CHAINS: dict[str, ChainInfo] = {
    c.chain: c
    for c in [
        ChainInfo("ethereum", Model.ACCOUNT, "ETH", 18, "evm"),
        ChainInfo("bsc", Model.ACCOUNT, "BNB", 18, "evm"),
        ChainInfo("polygon", Model.ACCOUNT, "POL", 18, "evm"),
        ChainInfo("arbitrum", Model.ACCOUNT, "ETH", 18, "evm"),
        ChainInfo("optimism", Model.ACCOUNT, "ETH", 18, "evm"),
        ChainInfo("avalanche", Model.ACCOUNT, "AVAX", 18, "evm"),
        ChainInfo("harmony", Model.ACCOUNT, "ONE", 18, "evm"),
        ChainInfo("tron", Model.ACCOUNT, "TRX", 6, "tron"),
        ChainInfo("bitcoin", Model.UTXO, "BTC", 8, "bitcoin"),
        ChainInfo("bitcoin_cash", Model.UTXO, "BCH", 8, "bitcoin"),
        ChainInfo("litecoin", Model.UTXO, "LTC", 8, "bitcoin"),
        ChainInfo("dogecoin", Model.UTXO, "DOGE", 8, "bitcoin"),
        ChainInfo("zcash", Model.UTXO, "ZEC", 8, "bitcoin"),
        ChainInfo("dash", Model.UTXO, "DASH", 8, "bitcoin"),
    ]
}


def chain_info(chain: str, model: str | None = None) -> ChainInfo:
    """The registry entry for ``chain``; an unknown name is accepted as an EVM or UTXO chain if ``model`` says."""
    if chain in KNOWN_CHAINS:
        return KNOWN_CHAINS[chain]
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", chain):
        raise ValueError(f"invalid chain name {chain!r}: use lower-case letters, digits and _")
    if model == Model.UTXO:
        return ChainInfo(chain, Model.UTXO, chain.upper()[:5], 8, "bitcoin")
    if model in (None, Model.ACCOUNT):
        return ChainInfo(chain, Model.ACCOUNT, "NATIVE", 18, "evm")
    raise ValueError(f"unknown model {model!r}: account or utxo")


_EVM_RE = re.compile(r"0x[0-9a-fA-F]{40}")


def normalize_evm_address(raw: str, *, strict_checksum: bool = True) -> str:
    """Lower-case 0x-hex form of an EVM address.

    A mixed-case address is an EIP-55 checksum claim; if ``strict_checksum`` it must verify, since a wrong
    checksum usually means a typo that would silently point an investigation at a stranger.
    """
    s = raw.strip()
    if not _EVM_RE.fullmatch(s):
        raise AddressError(f"not an EVM address (0x + 40 hex digits): {raw!r}")
    lower, upper = s[2:].lower(), s[2:].upper()
    if strict_checksum and s[2:] not in (lower, upper) and not is_checksum_address(s):
        raise AddressError(
            f"bad EIP-55 checksum in {raw!r} (expected {to_checksum_address(s)}): check for a typo"
        )
    return "0x" + lower


def normalize_address(raw: str, chain: str, *, strict_checksum: bool = True) -> str:
    """Canonical storage form of an address on ``chain`` (EVM: lower-case hex; UTXO: as written)."""
    fmt = KNOWN_CHAINS[chain].address_format if chain in KNOWN_CHAINS else "evm"
    if fmt == "evm":
        return normalize_evm_address(raw, strict_checksum=strict_checksum)
    if fmt == "tron" and raw.strip().startswith("0x"):
        return normalize_evm_address(raw, strict_checksum=strict_checksum)
    s = raw.strip()
    if not s or any(c.isspace() for c in s):
        raise AddressError(f"empty or malformed address: {raw!r}")
    return s


@dataclass(frozen=True)
class Transfer:
    """One value movement on an account chain (a row of ``transfers``)."""

    chain: str
    block_number: int
    block_time: datetime
    tx_hash: str
    tx_index: int
    kind: TransferKind
    position: str
    seq: int
    from_address: str | None
    to_address: str | None
    asset: str
    amount: int


@dataclass(frozen=True)
class UtxoOutput:
    chain: str
    tx_hash: str
    output_index: int
    block_number: int
    block_time: datetime
    address: str | None
    script_type: str | None
    value: int


@dataclass(frozen=True)
class UtxoInput:
    chain: str
    tx_hash: str
    input_index: int
    block_number: int
    block_time: datetime
    spent_tx_hash: str
    spent_output_index: int
    address: str | None
    value: int | None


@dataclass(frozen=True)
class Tag:
    address: str
    label: str
    source: str
    chain: str | None = None
    category: str | None = None
    actor: str | None = None
    confidence: float | None = None
    added_by: str = "chainsleuth"
