"""The shipped known-incident library: well-formed, sourced, and its derived values reproducible."""

from __future__ import annotations

import csv
from decimal import Decimal

import pytest

from chainsleuth.attribute.features import FEATURES
from chainsleuth.attribute.library import load_library
from chainsleuth.errors import InputError

RONIN_EXPLOITER = "\\x098b716b8aaf21512996dc57eb0615e2383e2f96"


def test_library_entries_are_sourced():
    lib = {f.subject: f for f in load_library()}
    assert {"harmony-2022", "harmony-2023", "ronin-2022", "atomic-wallet-2023"} <= set(lib)
    for fp in lib.values():
        assert fp.sources and all(s.get("url") and s.get("publisher") for s in fp.sources)
        assert set(fp.features) == set(FEATURES)
        assert set(fp.provenance) == set(fp.known())  # every recorded value names its source
    assert lib["harmony-2023"].features["mixers"] >= {"railgun"}
    assert lib["atomic-wallet-2023"].features["mixers"] == {"sinbad"}
    assert lib["atomic-wallet-2023"].features["gas_premium"] is None  # not stated anywhere: unknown


def test_ronin_derived_values_reproduce_from_the_mit_data(shared_data):
    path = shared_data / "dspytdao-lazarus" / "LazarusTabularTxs1322519.csv"
    rows = [r for r in csv.DictReader(path.open()) if r["from"] == RONIN_EXPLOITER and float(r["total_eth"]) > 0]
    hours = [0] * 24
    for r in rows:
        hours[int(r["block_time"][11:13])] += 1

    def is_round(x: str) -> bool:
        t = Decimal(x).normalize().as_tuple()
        return len(t.digits) <= 2 and t.exponent >= -3

    ronin = {f.subject: f for f in load_library()}["ronin-2022"]
    assert ronin.features["working_hours"] == hours
    assert ronin.features["round_amount_share"] == pytest.approx(sum(map(is_round, (r["total_eth"] for r in rows))) / len(rows))
    last = max(r["block_time"] for r in rows)
    assert last.startswith("2022-05-04") and ronin.features["dormancy_days"] == 42  # 2022-03-23 + 42 days


def test_bad_library_files_are_clear_errors(tmp_path):
    (tmp_path / "x.yaml").write_text("name: x\nsources: [{id: s, url: u, publisher: p}]\nfeatures:\n  colour: {value: 1, source: s}\n")
    with pytest.raises(InputError, match="unknown feature 'colour'"):
        load_library(tmp_path)
    (tmp_path / "x.yaml").write_text("name: x\nsources: [{id: s}]\nfeatures:\n  mixers: {value: [a], source: t}\n")
    with pytest.raises(InputError, match="unknown source"):
        load_library(tmp_path)
    (tmp_path / "x.yaml").write_text("name: x\n  bad: : yaml\n")
    with pytest.raises(InputError, match="invalid YAML"):
        load_library(tmp_path)
