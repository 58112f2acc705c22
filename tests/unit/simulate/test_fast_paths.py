"""The simulator's vectorised shortcuts give exactly what the plain way gives: hex, owner names, the tag file
(PyYAML's own output), per-kind formatting, service lookups and the parallel writers."""

from __future__ import annotations

import datetime as dt
import os

import numpy as np
import pyarrow as pa
import pytest
import yaml

from chainsleuth.simulate.encode import hex_matrix, hex_strings
from chainsleuth.simulate.evm import block_of
from chainsleuth.simulate.truth import _yaml_dump
from chainsleuth.simulate.world import AddressBook, Coded, Numbered
from chainsleuth.simulate.writer import by_kind, run_parallel


def test_hex_matrix_with_and_without_prefix():
    raw = np.random.default_rng(1).integers(0, 256, (50, 33), dtype=np.uint8)
    rows = [bytes(r).hex() for r in raw]
    assert [bytes(r).decode() for r in hex_matrix(raw)] == rows
    assert [bytes(r).decode() for r in hex_matrix(raw, b"0xab")] == ["0xab" + h for h in rows]
    assert hex_strings(raw).to_pylist() == ["0x" + h for h in rows]
    with pytest.raises(ValueError):
        hex_matrix(raw, b"0")


def test_owner_names_expand_like_python():
    book = AddressBook("ethereum", np.random.default_rng(2))
    expected: list[str] = []
    book.new(2, "dex:Uniswop", "pool")
    expected += ["dex:Uniswop"] * 2
    book.new(3, Numbered("user:e", np.array([7, 0, 7])), "user")
    expected += ["user:e7", "user:e0", "user:e7"]
    book.new(4, Coded(("exchange:A", "exchange:B"), np.array([1, 0, 0, 1])), "deposit")
    expected += ["exchange:B", "exchange:A", "exchange:A", "exchange:B"]
    book.new(2, np.array(["builder:1", "dex:Uniswop"]), "fee_recipient")
    expected += ["builder:1", "dex:Uniswop"]
    book.new(1, Numbered("user:e", np.array([12])), "change")
    expected += ["user:e12"]
    book.new(2, Numbered("user:h", np.array([3, 4])), "user")
    expected += ["user:h3", "user:h4"]
    table = book.owners_table()
    assert table["owner"].to_pylist() == expected
    assert table["role"].to_pylist() == ["pool"] * 2 + ["user"] * 3 + ["deposit"] * 4 + [
        "fee_recipient"
    ] * 2 + ["change", "user", "user"]
    assert table["chain"].to_pylist() == ["ethereum"] * len(expected)
    assert table["address"].to_pylist() == book.strings().to_pylist()


@pytest.mark.parametrize(
    "values",
    [
        [
            "0x" + "ab" * 20,
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
            "1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHQ",
        ],
        ["12345", "0777", "1e5", "1_000", "yes", "No", "null", "true", "0b101", "~", "inf", "NaN", "y"],
        ["Binafex deposit", "a: b", "#hash", "- dash", "it's", 'say "hi"', "ünïcode", "", "  padded "],
    ],
)
def test_tag_file_is_what_pyyaml_writes(values):
    doc = {
        "title": "t: x",
        "is_public": True,
        "lastmod": dt.date(2024, 3, 31),
        "tags": [{"address": v, "label": f"{v} hot", "actor": v} for v in values],
    }
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    assert _yaml_dump(doc) == yaml.dump(doc, Dumper=dumper, sort_keys=False, width=200)
    empty = {**doc, "tags": []}
    assert _yaml_dump(empty) == yaml.dump(empty, Dumper=dumper, sort_keys=False, width=200)


def test_by_kind_keeps_row_order():
    kind = np.array([2, 0, 1, 2, 0])
    out = by_kind(
        kind,
        {k: (lambda rows, k=k: _strings([f"{k}:{r}" for r in rows.tolist()])) for k in (0, 1, 2)},
    )
    assert out.to_pylist() == ["2:0", "0:1", "1:2", "2:3", "0:4"]
    with pytest.raises(ValueError):
        by_kind(kind, {0: lambda rows: _strings(["x"] * len(rows))})


def _strings(values: list[str]) -> pa.Array:
    return pa.array(values, pa.string())


def _pid_and(x: int) -> tuple[int, int]:
    return os.getpid(), x * x


def test_run_parallel_returns_results_in_order():
    jobs = [lambda i=i: _pid_and(i) for i in range(5)]
    serial = run_parallel(jobs, workers=1)
    forked = run_parallel(jobs, workers=2)
    assert [r[1] for r in serial] == [r[1] for r in forked] == [0, 1, 4, 9, 16]
    assert {r[0] for r in serial} == {os.getpid()}
    assert os.getpid() not in {r[0] for r in forked}  # the jobs really ran in worker processes


def test_run_parallel_raises_a_job_error():
    def bad() -> None:
        raise RuntimeError("writer failed")

    with pytest.raises(RuntimeError, match="writer failed"):
        run_parallel([lambda: 1, bad], workers=2)


def test_blocks_never_go_back_in_time():
    # transactions are ordered by time alone (a stable sort) because block_of cannot decrease
    t = np.arange(0, 30 * 86_400, 7)
    assert (np.diff(block_of(t)) >= 0).all()
