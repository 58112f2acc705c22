"""Vectorised encoders for the simulator: hex hashes, EVM addresses, Bitcoin addresses and decimal amounts.

Everything here turns numpy arrays into Arrow string arrays without a per-row Python loop (the one exception
is the double-SHA256 checksum of legacy base58 addresses, which only a minority of addresses use). Strings
are built as fixed-width byte matrices and wrapped as Arrow buffers, which keeps writing at millions of rows
per second.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: the two hex digits of every byte value as one little-endian uint16: one gather per byte, not two
_HEX_PAIRS = np.frombuffer(b"".join(b"%02x" % b for b in range(256)), dtype="<u2")
_B58 = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BECH32 = np.frombuffer(b"qpzry9x8gf2tvdw0s3jn54khce6mua7l", dtype=np.uint8)
_BECH32_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
#: the generator terms a checksum's top five bits add, for each value of them: one gather per step
_BECH32_TOP = np.array(
    [
        np.bitwise_xor.reduce([g for i, g in enumerate(_BECH32_GEN) if top >> i & 1] or [0])
        for top in range(32)
    ],
    dtype=np.uint32,
)

GWEI = 10**9


def fixed_width_strings(chars: np.ndarray) -> pa.StringArray:
    """An Arrow string array from an ``(n, width)`` uint8 matrix of ASCII bytes (zero-copy offsets)."""
    chars = np.ascontiguousarray(chars, dtype=np.uint8)
    n, width = chars.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int64)
    if offsets[-1] < 2**31:
        offsets = offsets.astype(np.int32)
        typ = pa.string()
    else:
        typ = pa.large_string()
    return pa.Array.from_buffers(typ, n, [None, pa.py_buffer(offsets), pa.py_buffer(chars.reshape(-1))])


def hex_matrix(raw: np.ndarray, prefix: bytes = b"") -> np.ndarray:
    """``(n, k)`` bytes -> ``(n, len(prefix) + 2k)`` lower-case hex ASCII after ``prefix`` (of even length),
    written in place: no second copy to put the prefix in front."""
    raw = np.asarray(raw, dtype=np.uint8)
    if len(prefix) % 2:
        raise ValueError("hex_matrix prefix must have an even length")
    out = np.empty((raw.shape[0], len(prefix) + 2 * raw.shape[1]), dtype=np.uint8)
    if prefix:
        out[:, : len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
    out.view("<u2")[:, len(prefix) // 2 :] = _HEX_PAIRS[raw]
    return out


def hex_strings(raw: np.ndarray, prefix: bytes = b"0x") -> pa.StringArray:
    """Hex-encode each row of ``raw`` (``(n, k)`` uint8) with ``prefix``: tx hashes, addresses, block hashes."""
    return fixed_width_strings(hex_matrix(raw, prefix))


def uint_hex64(values: np.ndarray) -> np.ndarray:
    """uint64 values as ``(n, 64)`` zero-padded big-endian hex ASCII (an ABI-encoded ``uint256`` word)."""
    be = np.asarray(values, dtype=np.uint64).astype(">u8").view(np.uint8).reshape(-1, 8)
    word = np.zeros((be.shape[0], 32), dtype=np.uint8)
    word[:, 24:] = be
    return hex_matrix(word)


def address_word(addr_hex40: np.ndarray) -> np.ndarray:
    """``(n, 40)`` address hex ASCII -> ``(n, 64)`` ABI word (left-padded with '0')."""
    out = np.full((addr_hex40.shape[0], 64), ord("0"), dtype=np.uint8)
    out[:, 24:] = addr_hex40
    return out


def dec_strings(values: np.ndarray) -> pa.StringArray:
    """Non-negative integers as decimal strings."""
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


def wei_strings(hi: np.ndarray, lo: np.ndarray) -> pa.StringArray:
    """Exact decimal strings of ``hi * 10**9 + lo`` (``0 <= lo < 10**9``): wei amounts beyond int64."""
    hi_a = pa.array(np.asarray(hi, dtype=np.int64))
    lo_s = pc.cast(pa.array(np.asarray(lo, dtype=np.int64)), pa.string())
    joined = pc.binary_join_element_wise(pc.cast(hi_a, pa.string()), pc.utf8_lpad(lo_s, 9, "0"), "")
    return pc.if_else(pc.equal(hi_a, 0), lo_s, joined)


def split_wei(values: list[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Python ints (wei) -> (hi, lo) limbs with ``value = hi * 10**9 + lo``."""
    hi = np.fromiter((int(v) // GWEI for v in values), dtype=np.int64, count=len(values))
    lo = np.fromiter((int(v) % GWEI for v in values), dtype=np.int64, count=len(values))
    return hi, lo


def join_wei(hi: np.ndarray, lo: np.ndarray) -> list[int]:
    """(hi, lo) limbs -> Python ints (for small arrays: the incident engine and tests)."""
    return [int(h) * GWEI + int(lo_) for h, lo_ in zip(hi.tolist(), lo.tolist(), strict=True)]


# --------------------------------------------------------------------------------------------- Bitcoin
def bech32_p2wpkh(hash160: np.ndarray, hrp: str = "bc") -> pa.StringArray:
    """BIP-173 bech32 P2WPKH addresses (witness v0, 20-byte program), checksum computed vectorised."""
    n = hash160.shape[0]
    bits = np.unpackbits(np.asarray(hash160, dtype=np.uint8), axis=1)  # (n, 160)
    groups = bits.reshape(n, 32, 5) @ np.array([16, 8, 4, 2, 1], dtype=np.uint8)  # (n, 32) five-bit values
    data = np.hstack([np.zeros((n, 1), dtype=np.uint32), groups.astype(np.uint32)])  # version 0 first
    hrp_b = [ord(c) for c in hrp]
    prefix = [c >> 5 for c in hrp_b] + [0] + [c & 31 for c in hrp_b]
    # BIP-173 polymod; the human-readable part is the same for every row, so its steps run once
    start = 1
    for v in prefix:
        start = ((start & 0x1FFFFFF) << 5) ^ v ^ int(_BECH32_TOP[start >> 25])
    chk = np.full(n, start, dtype=np.uint32)
    for v in [*data.T, *[np.uint32(0)] * 6]:
        chk = ((chk & np.uint32(0x1FFFFFF)) << np.uint32(5)) ^ v ^ _BECH32_TOP[chk >> np.uint32(25)]
    chk = chk ^ np.uint32(1)
    checksum = np.stack([(chk >> (5 * (5 - i))) & 31 for i in range(6)], axis=1)
    body = _BECH32[np.hstack([data, checksum]).astype(np.int64)]
    head = np.broadcast_to(np.frombuffer(hrp.encode() + b"1", dtype=np.uint8), (n, len(hrp) + 1))
    return fixed_width_strings(np.hstack([head, body]))


def base58check(version: int, hash160: np.ndarray) -> list[str]:
    """Base58Check addresses (P2PKH version 0x00, P2SH 0x05) as Python strings (see :func:`base58check_arrow`)."""
    return base58check_arrow(version, hash160).to_pylist()


def base58check_arrow(version: int, hash160: np.ndarray) -> pa.StringArray:
    """Base58Check addresses (P2PKH version 0x00, P2SH 0x05). The double-SHA256 checksum is per row
    (hashlib); the base conversion runs as long division over all rows at once, and the variable-length
    strings (one '1' per leading zero byte, then the digits without leading zeros) are cut out of a byte
    matrix with a mask."""
    h = np.asarray(hash160, dtype=np.uint8)
    n = len(h)
    if n == 0:
        return pa.array([], type=pa.string())
    payload = np.empty((n, 25), dtype=np.int64)
    payload[:, 0] = version
    payload[:, 1:21] = h
    pre = bytes([version])
    sums = b"".join(hashlib.sha256(hashlib.sha256(pre + row).digest()).digest()[:4] for row in map(bytes, h))
    payload[:, 21:] = np.frombuffer(sums, dtype=np.uint8).reshape(n, 4)
    # long division by 58**5 over 24-bit limbs (rem * 2**24 + limb < 2**54 fits int64): five digits a pass
    padded = np.hstack([np.zeros((n, 2), np.int64), payload])  # 27 bytes = 9 limbs
    num = (padded[:, 0::3] << 16) | (padded[:, 1::3] << 8) | padded[:, 2::3]
    digits = np.zeros((n, 35), dtype=np.int64)  # 25 bytes < 58**35
    div = 58**5
    for p in range(7):
        rem = np.zeros(n, dtype=np.int64)
        for j in range(9):
            acc = (rem << 24) + num[:, j]
            num[:, j] = acc // div
            rem = acc % div
        for d in range(5):
            digits[:, 34 - 5 * p - d] = rem % 58
            rem //= 58
    alphabet = np.frombuffer(_B58, dtype=np.uint8)
    first = np.argmax(digits != 0, axis=1)  # leading zero digits are dropped...
    zeros = np.argmax(payload != 0, axis=1)  # ...and each leading zero byte becomes '1'
    chars = np.hstack([np.full((n, 25), ord("1"), dtype=np.uint8), alphabet[digits]])
    col = np.arange(60)
    keep = np.where(col < 25, col < zeros[:, None], col - 25 >= first[:, None])
    offsets = np.r_[0, np.cumsum(keep.sum(axis=1))].astype(np.int32)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(chars[keep]))]
    )


#: Bitcoin script types as bitcoin-etl names them, by our type code.
BTC_TYPES = ("witness_v0_keyhash", "pubkeyhash", "scripthash")


#: Locking script of each type around the hash160 hex: (asm before, asm after, hex before, hex after).
BTC_SCRIPTS = (
    ("0 ", "", "0014", ""),
    ("OP_DUP OP_HASH160 ", " OP_EQUALVERIFY OP_CHECKSIG", "76a914", "88ac"),
    ("OP_HASH160 ", " OP_EQUAL", "a914", "87"),
)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (Steele et al. 2014) on uint64 arrays: a keyed, order-free pseudo-random hash."""
    with np.errstate(over="ignore"):
        z = np.asarray(x, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def keyed_bytes(seed: int, domain: int, index: np.ndarray, nbytes: int = 32) -> np.ndarray:
    """``(n, nbytes)`` pseudo-random bytes determined by (seed, domain, index) alone: hashes that do not
    depend on the order in which parts of the world were generated."""
    index = np.asarray(index, dtype=np.uint64)
    words = (nbytes + 7) // 8
    with np.errstate(over="ignore"):
        base = splitmix64(np.uint64(seed & 0xFFFFFFFFFFFF) * np.uint64(1_000_003) + np.uint64(domain))
        cols = [
            splitmix64(
                index * np.uint64(0x2545F4914F6CDD1D) + base + np.uint64(w) * np.uint64(0x632BE59BD9B4E019)
            )
            for w in range(words)
        ]
    out = np.stack(cols, axis=1).astype(">u8").view(np.uint8).reshape(len(index), words * 8)
    return out[:, :nbytes]
