"""TRON addresses: the 21-byte hex form (0x41 + 20 bytes) and the base58check form users see (``T...``).

TRON nodes speak Ethereum JSON-RPC and report addresses as 20-byte ``0x`` hex, exactly like an EVM chain.
Investigators, explorers and sanction lists write them in base58check (prefix byte 0x41, then the first
four bytes of the double SHA-256 as checksum), so on a chain declared ``tron`` chainsleuth stores and shows
that form; token contracts (e.g. USDT ``TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t``) too.
"""

from __future__ import annotations

import re

import base58

from chainsleuth.errors import AddressError

PREFIX = b"\x41"
_HEX20 = re.compile(r"(?:0x)?(?:41)?([0-9a-fA-F]{40})")


def hex_to_base58(address: str) -> str:
    """``0x`` + 40 hex (EVM form), ``41`` + 40 hex or ``0x41`` + 40 hex -> base58check ``T...``."""
    s = address.strip()
    m = _HEX20.fullmatch(s)
    if not m or (len(s) not in (40, 42, 44)):
        raise AddressError(f"not a TRON hex address (0x + 20 bytes or 41 + 20 bytes): {address!r}")
    return base58.b58encode_check(PREFIX + bytes.fromhex(m.group(1))).decode("ascii")


def base58_to_hex(address: str) -> str:
    """``T...`` base58check -> the 20-byte EVM form ``0x...`` (lower case), checking the checksum."""
    try:
        raw = base58.b58decode_check(address.strip())
    except ValueError as exc:
        raise AddressError(f"bad TRON address {address!r}: {exc}") from None
    if len(raw) != 21 or raw[:1] != PREFIX:
        raise AddressError(f"bad TRON address {address!r}: expected 21 bytes starting with 0x41")
    return "0x" + raw[1:].hex()


def to_display(address: str | None) -> str | None:
    """Base58check form of a hex TRON address; an address already in base58 (or None) passes through."""
    if address is None or address.startswith("T"):
        return address
    return hex_to_base58(address)
