"""Vocabularies: GraphSense categories, abuse types and confidence ids onto chainsleuth's; currency codes onto chains.

GraphSense publishes its taxonomies in the TagPack tool (``graphsense-tagpack-tool``, ``src/tagpack/db/*.yaml``:
entity categories from the INTERPOL darkweb/virtual-assets taxonomy, abuse types and confidence levels). We fold
them onto :class:`chainsleuth.model.Category`, which is what tracing needs: where does money stop and whose is it.
"""

from __future__ import annotations

from chainsleuth.model import KNOWN_CHAINS, Category

#: GraphSense entity category -> chainsleuth category.
GRAPHSENSE_CATEGORIES: dict[str, Category] = {
    "exchange": Category.EXCHANGE,
    "hosted_wallet": Category.EXCHANGE,
    "otc_broker": Category.OTC,
    "otc": Category.OTC,
    "atm": Category.EXCHANGE,
    "mixing_service": Category.MIXER,
    "mixer": Category.MIXER,
    "coinjoin": Category.COINJOIN,
    "defi_bridge": Category.BRIDGE,
    "bridge": Category.BRIDGE,
    "defi_dex": Category.DEX,
    "dex": Category.DEX,
    "defi": Category.DEFI,
    "defi_lending": Category.DEFI,
    "defi_staking": Category.DEFI,
    "defi_yield": Category.DEFI,
    "defi_derivatives": Category.DEFI,
    "defi_insurance": Category.DEFI,
    "smart_contract": Category.DEFI,
    "token": Category.DEFI,
    "miner": Category.MINER,
    "mining_service": Category.MINER,
    "mining_pool": Category.MINER,
    "gambling": Category.GAMBLING,
    "market": Category.MARKET,
    "marketplace": Category.MARKET,
    "darknet_market": Category.MARKET,
    "shop": Category.PAYMENT,
    "payment_processor": Category.PAYMENT,
    "wallet_service": Category.WALLET,
    "faucet": Category.OTHER,
    "donation": Category.OTHER,
    "organization": Category.OTHER,
    "service": Category.OTHER,
    "user": Category.USER,
    "perpetrator": Category.HACKER,
    "hacker": Category.HACKER,
    "ransomware": Category.RANSOMWARE,
    "scam": Category.SCAM,
    "ponzi": Category.SCAM,
    "black_list": Category.OTHER,  # Tether-frozen: funds frozen in USDT only, not a sanctions listing
    "sanctioned": Category.SANCTIONED,
    "victim": Category.VICTIM,
}

#: GraphSense abuse type -> chainsleuth category (used when the entity category is generic, e.g. 'user').
GRAPHSENSE_ABUSES: dict[str, Category] = {
    "sanction": Category.SANCTIONED,
    "service_hack": Category.HACKER,
    "hack": Category.HACKER,
    "ransomware": Category.RANSOMWARE,
    "phishing": Category.SCAM,
    "scam": Category.SCAM,
    "investment_fraud": Category.SCAM,
    "ponzi_scheme": Category.SCAM,
    "pyramid_scheme": Category.SCAM,
    "sextortion": Category.SCAM,
    "extortion": Category.SCAM,
    "extremism": Category.SANCTIONED,
    "terrorism": Category.SANCTIONED,
}

#: Categories that say *what kind* of owner only vaguely; an abuse type, where given, is more telling.
GENERIC_CATEGORIES = frozenset({Category.USER, Category.OTHER, Category.WALLET})

#: GraphSense confidence ids -> [0, 1]. GraphSense ranks them (ownership highest, untrusted lowest); these
#: numbers keep that order so that tags from different sources can be compared.
GRAPHSENSE_CONFIDENCE: dict[str, float] = {
    "ownership": 1.0,
    "authority_data": 0.95,
    "override": 0.95,
    "ledger_immanent": 0.9,
    "service_data": 0.9,
    "forensic": 0.8,
    "forensic_investigation": 0.8,
    "manual_transaction": 0.7,
    "heuristic": 0.6,
    "web_crawl": 0.5,
    "untrusted_transaction": 0.3,
}
DEFAULT_CONFIDENCE = 0.5

#: Specificity order used to choose one label per address (first = preferred at equal confidence): the
#: exit categories where tracing stops come first, generic descriptions last.
CATEGORY_ORDER: list[str] = [
    Category.DEPOSIT, Category.HOT_WALLET, Category.EXCHANGE, Category.OTC, Category.SANCTIONED,
    Category.MIXER, Category.BRIDGE, Category.COINJOIN, Category.DEX, Category.HACKER, Category.RANSOMWARE,
    Category.SCAM, Category.VICTIM, Category.MARKET, Category.GAMBLING, Category.PAYMENT, Category.MINER,
    Category.DEFI, Category.WALLET, Category.USER, Category.OTHER,
]

#: Categories whose tag describes the owner of a whole cluster (so it may spread to its other addresses).
#: Not 'deposit' (one address's role), 'coinjoin' (many owners), 'victim' or 'user' (says nothing useful).
PROPAGATING_CATEGORIES = frozenset(
    {
        Category.EXCHANGE, Category.HOT_WALLET, Category.OTC, Category.MIXER, Category.BRIDGE, Category.DEX,
        Category.DEFI, Category.GAMBLING, Category.MARKET, Category.PAYMENT, Category.MINER, Category.WALLET,
        Category.SANCTIONED, Category.HACKER, Category.RANSOMWARE, Category.SCAM,
    }
)

#: Currency / network codes (GraphSense, OFAC) -> chain name, where the code names one chain.
CURRENCY_CHAINS: dict[str, str] = {
    "BTC": "bitcoin", "XBT": "bitcoin",
    "ETH": "ethereum",
    "LTC": "litecoin",
    "BCH": "bitcoin_cash",
    "ZEC": "zcash",
    "DASH": "dash",
    "DOGE": "dogecoin",
    "TRX": "tron",
    "BSC": "bsc", "BNB": "bsc", "BEP20": "bsc",
    "MATIC": "polygon", "POL": "polygon",
    "AVAX": "avalanche",
    "ARB": "arbitrum",
    "OP": "optimism",
    "ONE": "harmony",
    "ETC": "ethereum_classic",
    "BSV": "bitcoin_sv",
    "BTG": "bitcoin_gold",
    "XMR": "monero",
    "XRP": "ripple",
    "XVG": "verge",
}

#: Tokens that live on several chains: the chain follows from the address format.
MULTICHAIN_TOKENS = frozenset({"USDT", "USDC", "DAI", "BUSD", "TUSD", "WBTC"})


def category_from_graphsense(category: str | None, abuse: str | None) -> Category | None:
    """Fold a GraphSense (category, abuse) pair onto one chainsleuth category.

    The abuse type wins when the entity category is generic: Lazarus tags are ``category: user, abuse:
    sanction``, and for an investigator they are sanctioned addresses, not 'a user'.
    """
    cat = GRAPHSENSE_CATEGORIES.get(category.strip().lower()) if category else None
    ab = GRAPHSENSE_ABUSES.get(abuse.strip().lower()) if abuse else None
    if ab is not None and (cat is None or cat in GENERIC_CATEGORIES):
        return ab
    return cat


def chain_for_currency(code: str, address: str) -> str:
    """Chain for a currency/network code; tokens on several chains are placed by the address format."""
    c = code.strip().upper()
    if c in MULTICHAIN_TOKENS:
        a = address.strip()
        if a.startswith("0x"):
            return "ethereum"
        if a.startswith("T") and len(a) == 34:
            return "tron"
        return "bitcoin"  # Omni-layer USDT lives in Bitcoin addresses
    if c in CURRENCY_CHAINS:
        return CURRENCY_CHAINS[c]
    lowered = c.lower()
    if lowered in KNOWN_CHAINS:
        return lowered
    name = "".join(ch if ch.isalnum() else "_" for ch in lowered).strip("_")
    return name if name and name[0].isalpha() else f"c_{name}"
