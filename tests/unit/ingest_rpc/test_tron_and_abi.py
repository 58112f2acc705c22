"""TRON address forms (test vectors from TRON's documentation) and token-metadata ABI decoding."""

from __future__ import annotations

import pytest
from eth_abi import encode

from chainsleuth.errors import AddressError
from chainsleuth.ingest import tron
from chainsleuth.ingest.evm_rpc import decode_abi_string, decode_decimals


@pytest.mark.parametrize(
    ("hex_form", "base58"),
    [
        ("418840E6C55B9ADA326D211D818C34A994AECED808", "TNPeeaaFB7K9cmo4uQpcU32zGK8G1NYqeL"),  # TRON docs
        ("0xa614f803b6fd780986a42c78ec9c7f77e6ded13c", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"),  # USDT (TRC-20)
    ],
)
def test_tron_hex_base58_round_trip(hex_form, base58):
    assert tron.hex_to_base58(hex_form) == base58
    assert tron.base58_to_hex(base58) == "0x" + hex_form.lower()[-40:]
    assert tron.to_display(base58) == base58 and tron.to_display(None) is None


def test_tron_bad_addresses():
    with pytest.raises(AddressError, match="bad TRON address"):
        tron.base58_to_hex("TNPeeaaFB7K9cmo4uQpcU32zGK8G1NYqeM")  # checksum
    with pytest.raises(AddressError, match="not a TRON hex address"):
        tron.hex_to_base58("0x1234")


def test_abi_string_bytes32_and_junk():
    assert decode_abi_string("0x" + encode(["string"], ["Tether USD"]).hex()) == "Tether USD"
    assert decode_abi_string("0x" + b"MKR".ljust(32, b"\0").hex()) == "MKR"
    assert decode_abi_string("0x") is None
    assert decode_abi_string(None) is None
    assert decode_abi_string("0x" + encode(["string"], ["a\x00\x07b"]).hex()) == "ab"  # control characters dropped
    assert decode_decimals("0x" + encode(["uint8"], [18]).hex()) == 18
    assert decode_decimals("0x" + encode(["uint256"], [10**30]).hex()) is None
    assert decode_decimals("0x") is None
