"""Encoders against published test vectors; option parsing; incidents on request."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chainsleuth.errors import ChainsleuthError
from chainsleuth.simulate import simulate
from chainsleuth.simulate.encode import base58check, bech32_p2wpkh, keyed_bytes, wei_strings
from chainsleuth.simulate.world import parse_incidents, parse_scale


def h160(hexstr: str) -> np.ndarray:
    return np.frombuffer(bytes.fromhex(hexstr), dtype=np.uint8).reshape(1, 20)


def test_bech32_bip173_vector():
    assert bech32_p2wpkh(h160("751e76e8199196d454941c45d1b3a323f1433bd6")).to_pylist() == [
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
    ]


def test_base58check_vector():
    # bitcoin-etl fixture: script OP_DUP OP_HASH160 b5cd7aae... pays 1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHQ
    assert base58check(0, h160("b5cd7aaed869cd5ccb45868e8666e7e934a23736")) == [
        "1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHQ"
    ]


def test_wei_strings_exact_beyond_int64():
    hi = np.array([0, 1, 4_000_000_000_000], dtype=np.int64)
    lo = np.array([5, 0, 123_456_789], dtype=np.int64)
    assert wei_strings(hi, lo).to_pylist() == [
        "5",
        "1000000000",
        str(4_000_000_000_000 * 10**9 + 123_456_789),
    ]


def test_keyed_bytes_depend_only_on_key():
    a = keyed_bytes(1, 2, np.arange(10))
    assert (keyed_bytes(1, 2, np.arange(5, 10)) == a[5:]).all()
    assert not (keyed_bytes(2, 2, np.arange(10)) == a).all()


def test_option_parsing():
    assert parse_scale("small") == 100_000 and parse_scale("2_000_000") == 2_000_000
    with pytest.raises(ChainsleuthError, match="unknown scale"):
        parse_scale("huge")
    with pytest.raises(ChainsleuthError, match="too small"):
        parse_scale(100)
    assert dict(parse_incidents("lazarus-like=2,scammer=3")) == {
        "lazarus-like": 2,
        "exploiter": 0,
        "scammer": 3,
    }
    with pytest.raises(ChainsleuthError, match="unknown incident profile"):
        parse_incidents("robber=1")


def test_several_incidents_per_profile_differ(tmp_path):
    simulate(tmp_path, seed=5, scale=30_000, incidents="lazarus-like=0,exploiter=2,scammer=2")
    truth = json.loads((tmp_path / "truth.json").read_text())
    ids = [i["id"] for i in truth["incidents"]]
    assert ids == ["exploiter-1", "exploiter-2", "scammer-1", "scammer-2"]
    e1, e2 = truth["incidents"][:2]
    assert e1["stolen"] != e2["stolen"] and e1["actor"] != e2["actor"]
    s1, s2 = truth["incidents"][2:]
    assert len(s1["victims"]) != len(s2["victims"]) or s1["stolen"] != s2["stolen"]
    assert not ({v["address"] for v in s1["victims"]} & {v["address"] for v in s2["victims"]})
