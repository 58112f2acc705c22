"""Bitcoin output scripts: their standard type and the address they pay, for nodes that do not say.

Bitcoin Core reports ``scriptPubKey.address`` (>= 22) or ``addresses`` (older), but only for the script types
it knows: a Bitcoin SV or pre-SegWit node has no idea of P2WPKH/P2WSH/P2TR, and Core >= 22 gives no address
for bare P2PK. Deriving the address from the script keeps the stored address of the same output identical
whichever node was read: P2PKH/P2SH in base58check, SegWit v0 in bech32 (BIP 173), v1+ (Taproot) in bech32m
(BIP 350), and P2PK as the P2PKH address of its key (the form bitcoin-etl and block explorers show).
Multisig, OP_RETURN and non-standard scripts have no address: they are stored with their script.

The bech32 code follows the BIP 173 / BIP 350 reference implementation (Pieter Wuille, MIT).
"""

from __future__ import annotations

import hashlib
import re

import base58

#: Per network: (P2PKH version byte, P2SH version byte, bech32 human-readable part).
NETWORKS = {
    "main": (0x00, 0x05, "bc"),
    "test": (0x6F, 0xC4, "tb"),
    "testnet4": (0x6F, 0xC4, "tb"),
    "signet": (0x6F, 0xC4, "tb"),
    "regtest": (0x6F, 0xC4, "bcrt"),
}

_PATTERNS = [
    ("pubkeyhash", re.compile(r"76a914([0-9a-f]{40})88ac")),
    ("scripthash", re.compile(r"a914([0-9a-f]{40})87")),
    ("witness_v0_keyhash", re.compile(r"0014([0-9a-f]{40})")),
    ("witness_v0_scripthash", re.compile(r"0020([0-9a-f]{64})")),
    ("witness_v1_taproot", re.compile(r"5120([0-9a-f]{64})")),
    ("pubkey", re.compile(r"(?:21(0[23][0-9a-f]{64})|41(04[0-9a-f]{128}))ac")),
    ("nulldata", re.compile(r"(?:00)?6a(?:[0-9a-f]{2})*")),  # OP_RETURN, or OP_FALSE OP_RETURN (BSV)
    ("witness_unknown", re.compile(r"(5[1-9a-f]|60)([0-9a-f]{2})((?:[0-9a-f]{2})+)")),
    ("multisig", re.compile(r"5[1-9a-f](?:(?:21[0-9a-f]{66})|(?:41[0-9a-f]{130}))+5[1-9a-f]ae")),
]

BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_CONST, _BECH32M_CONST = 1, 0x2BC830A3


def classify(script_hex: str) -> str:
    """Bitcoin Core's name for the script type (``pubkeyhash``, ``witness_v1_taproot``, ... ``nonstandard``)."""
    s = script_hex.lower()
    for name, pattern in _PATTERNS:
        m = pattern.fullmatch(s)
        if not m:
            continue
        if name == "witness_unknown":
            program_len = int(m.group(2), 16)
            if not (2 <= program_len <= 40 and len(m.group(3)) == 2 * program_len):
                continue
        return name
    return "nonstandard"


def hash160(data: bytes) -> bytes:
    sha = hashlib.sha256(data).digest()
    try:
        return hashlib.new("ripemd160", sha).digest()
    except ValueError:  # OpenSSL 3 without the legacy provider
        from Crypto.Hash import RIPEMD160  # pycryptodome, installed with web3

        return RIPEMD160.new(sha).digest()


def address(script_hex: str, network: str = "main") -> str | None:
    """The address ``script_hex`` pays on ``network``; None for multisig, OP_RETURN and non-standard scripts."""
    p2pkh, p2sh, hrp = NETWORKS[network]
    s = script_hex.lower()
    kind = classify(s)
    if kind == "pubkeyhash":
        return base58.b58encode_check(bytes([p2pkh]) + bytes.fromhex(s[6:46])).decode()
    if kind == "scripthash":
        return base58.b58encode_check(bytes([p2sh]) + bytes.fromhex(s[4:44])).decode()
    if kind == "pubkey":
        key = bytes.fromhex(s[2:-2])
        return base58.b58encode_check(bytes([p2pkh]) + hash160(key)).decode()
    if kind in ("witness_v0_keyhash", "witness_v0_scripthash", "witness_v1_taproot", "witness_unknown"):
        op = int(s[:2], 16)
        version = 0 if op == 0 else op - 0x50
        return segwit_address(hrp, version, bytes.fromhex(s[4:]))
    return None


def _polymod(values: list[int]) -> int:
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if ((top >> i) & 1) else 0
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]


def _convertbits(data: bytes, frombits: int, tobits: int) -> list[int]:
    acc, bits, ret, maxv = 0, 0, [], (1 << tobits) - 1
    for value in data:
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            ret.append((acc >> bits) & maxv)
    if bits:
        ret.append((acc << (tobits - bits)) & maxv)
    return ret


def segwit_address(hrp: str, version: int, program: bytes) -> str:
    """Bech32 (v0) or bech32m (v1+) encoding of a witness program."""
    const = _BECH32_CONST if version == 0 else _BECH32M_CONST
    data = [version] + _convertbits(program, 8, 5)
    polymod = _polymod(_hrp_expand(hrp) + data + [0] * 6) ^ const
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH32_CHARSET[d] for d in data + checksum)
