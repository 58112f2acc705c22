"""Declaring cases by hand: source files, validation, storage."""

from __future__ import annotations

import pytest

from chainsleuth.detect.cases import create_case, delete_case, get_case, list_cases, read_sources
from chainsleuth.errors import ChainsleuthError, InputError, NotFoundError

A = "0x7a017e5e9672bc994dcb1a2a27d853c9c629f7c3"
B = "0xc94818b747964a12e50628405324e0ccc3187b42"


def test_plain_list_with_comments(tmp_path, con):
    f = tmp_path / "src.csv"
    f.write_text(f"# victims of the X theft\n{A}\n\n{B.upper().replace('0X', '0x')}  # second\n{A}\n")
    case = create_case(con, "X-2024", f, note="public report")
    assert [s["address"] for s in case.sources] == sorted([A, B])
    assert case.chain == "ethereum" and case.note == "public report"
    assert [c.name for c in list_cases(con)] == ["X-2024"]


def test_csv_with_roles(tmp_path):
    f = tmp_path / "src.csv"
    f.write_text(f"address,role\n{A},victim\n{B},attacker\n")
    assert read_sources(f, "ethereum") == [{"address": A, "role": "victim"}, {"address": B, "role": "attacker"}]
    f.write_text(f"address,role\n{A},thief\n")
    with pytest.raises(InputError, match=r"src.csv:2: role must be"):
        read_sources(f, "ethereum")


def test_bad_address_names_file_and_line(tmp_path, con):
    f = tmp_path / "bad.txt"
    f.write_text(f"{A}\n0x1234\n")
    with pytest.raises(InputError, match=r"bad.txt:2"):
        create_case(con, "bad", f)
    assert con.execute("SELECT count(*) FROM cases").fetchone()[0] == 0
    with pytest.raises(InputError, match="no such file"):
        read_sources(tmp_path / "missing.txt", "ethereum")
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(InputError, match="no addresses"):
        read_sources(tmp_path / "empty.txt", "ethereum")


def test_names_unique_replace_and_delete(tmp_path, con):
    f = tmp_path / "s.txt"
    f.write_text(A + "\n")
    create_case(con, "HB", f)
    with pytest.raises(ChainsleuthError, match="already exists"):
        create_case(con, "HB", f)
    f.write_text(B + "\n")
    assert [s["address"] for s in create_case(con, "HB", f, replace=True).sources] == [B]
    for bad in ("", "INC-1", "a b", "x" * 80):
        with pytest.raises(ChainsleuthError):
            create_case(con, bad, f)
    delete_case(con, "HB")
    with pytest.raises(NotFoundError):
        get_case(con, "HB")
