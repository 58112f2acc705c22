"""Same seed -> byte-identical files (however many writer processes); another seed -> other incidents."""

from __future__ import annotations

import hashlib
import json

import pytest

from chainsleuth.simulate import simulate

SCALE = 25_000  # the smallest world: enough for every profile, quick to build twice


def digests(folder) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow
def test_same_seed_same_bytes_other_seed_other_incidents(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    simulate(a, seed=11, scale=SCALE, workers=2)  # writers in forked processes...
    simulate(b, seed=11, scale=SCALE, workers=1)  # ...or all in this one: the same bytes
    simulate(c, seed=12, scale=SCALE)
    da, db, dc = digests(a), digests(b), digests(c)
    assert len(da) == 11
    assert da == db
    assert all(da[k] != dc[k] for k in da)
    ta, tc = (json.loads((x / "truth.json").read_text()) for x in (a, c))
    for ia, ic in zip(ta["incidents"], tc["incidents"], strict=True):
        assert ia["profile"] == ic["profile"]
        assert ia["stolen"] != ic["stolen"]
        assert {v["address"] for v in ia["victims"]}.isdisjoint({v["address"] for v in ic["victims"]})
        assert len(ia["hops"]) != len(ic["hops"]) or ia["hops"][0]["tx_hash"] != ic["hops"][0]["tx_hash"]
