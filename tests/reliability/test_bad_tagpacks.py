"""Malformed GraphSense TagPacks and CSV tag files (hypothesis): every bad file gives one InputError naming the
file and a line inside it, and the tags table (and every other table) reads exactly as before."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from chainsleuth import store
from chainsleuth.errors import ChainsleuthError, InputError
from chainsleuth.labels.importer import import_file

TABLES = ["tags", "loads", "actors", "chains", "blocks", "transfers"]

HEADER = {"title": "Reliability pack", "creator": "QA", "source": "https://example.org/qa", "currency": "ETH",
          "category": "exchange", "confidence": "service_data", "lastmod": "2024-01-02"}
TAGS = [
    {"address": "0x" + "ab" * 20, "label": "Exchange A", "actor": "exa"},
    {"address": "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "currency": "BTC", "label": "Exchange B"},
    {"address": "0x" + "cd" * 20, "label": "Hacker", "category": "user", "abuse": "service_hack",
     "confidence": "forensic"},
]

BAD = st.one_of(
    st.just(""), st.just(None), st.just([]), st.just({"nested": 1}), st.just(True), st.just(2**256),
    st.just(-(2**70)), st.just(float("nan")), st.just(float("inf")), st.just("0x" + "zz" * 20), st.just("0x123"),
    st.just("0X" + "AB" * 20 + "00"), st.just("not-a-category"), st.just("2024-13-45"),
    st.text(max_size=30),
)
KEYS = st.sampled_from(["address", "label", "source", "currency", "network", "category", "abuse", "confidence",
                        "lastmod", "actor", "is_cluster_definer", "context", "bogus_field"])


def snapshot(con) -> dict:
    return {t: sorted(map(repr, con.execute(f"SELECT * EXCLUDE (added_at) FROM {t}" if t == "tags"
                                            else f"SELECT * FROM {t}").fetchall())) for t in TABLES}


@pytest.fixture(scope="module")
def base_db(tmp_path_factory) -> Path:
    """A store that already holds tags from the same dataset name: a failed import must not touch them."""
    folder = tmp_path_factory.mktemp("tags")
    path = folder / "base.duckdb"
    con = store.connect(path)
    (folder / "pack.yaml").write_text(yaml.safe_dump({**HEADER, "tags": TAGS}, sort_keys=False))
    import_file(con, folder / "pack.yaml")
    (folder / "other.csv").write_text("address,label,chain\n0x" + "ef" * 20 + ",Other,ethereum\n")
    import_file(con, folder / "other.csv")
    assert con.execute("SELECT count(*) FROM tags").fetchone()[0] == 4
    con.close()
    return path


def check(con, path: Path, before: dict) -> str:
    """Import ``path``: either a clear error and nothing changed, or a whole import. Returns the outcome."""
    try:
        import_file(con, path)
    except Exception as exc:  # noqa: BLE001 - the point is to see what escapes
        assert isinstance(exc, InputError), f"unclear error {type(exc).__name__}: {exc}"
        assert path.name in str(exc) and "Traceback" not in str(exc)
        lines = max(1, len(path.read_bytes().splitlines()))
        assert exc.line is not None and 1 <= exc.line <= lines + 1, f"line {exc.line} of {lines}: {exc}"
        assert snapshot(con) == before
        event("clear error, nothing changed")
        return "error"
    after = snapshot(con)
    assert {k: v for k, v in after.items() if k not in ("tags", "loads")} == {
        k: v for k, v in before.items() if k not in ("tags", "loads")}
    # Tags of other datasets untouched.
    assert [t for t in after["tags"] if path.name not in t] == [t for t in before["tags"] if path.name not in t]
    event("valid after all: imported whole")
    return "imported"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.sampled_from(["tag", "header"]), tag=st.integers(0, 2), key=KEYS, value=BAD)
def test_wrong_types_and_values(base_db, tmp_path_factory, where, tag, key, value):
    tmp = tmp_path_factory.mktemp("v")
    shutil.copy(base_db, tmp / "db.duckdb")
    con = store.connect(tmp / "db.duckdb")
    before = snapshot(con)
    header, tags = dict(HEADER), [dict(t) for t in TAGS]
    if where == "header":
        header[key] = value
    else:
        tags[tag][key] = value
    path = tmp / "pack.yaml"
    path.write_text(yaml.safe_dump({**header, "tags": tags}, sort_keys=False, allow_unicode=True))
    check(con, path, before)
    con.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mode=st.sampled_from(["truncate", "duplicate-key", "latin1", "garbage-line", "tab-indent", "bom-utf16"]),
       at=st.integers(0, 10_000), junk=st.text(min_size=1, max_size=40))
def test_broken_structure_and_encoding(base_db, tmp_path_factory, mode, at, junk):
    tmp = tmp_path_factory.mktemp("s")
    shutil.copy(base_db, tmp / "db.duckdb")
    con = store.connect(tmp / "db.duckdb")
    before = snapshot(con)
    text = yaml.safe_dump({**HEADER, "tags": TAGS}, sort_keys=False)
    lines = text.splitlines()
    i = at % len(lines)
    path = tmp / "pack.yaml"
    if mode == "truncate":
        path.write_text(text[: at % len(text)])
    elif mode == "duplicate-key":
        tag_lines = [k for k, ln in enumerate(lines) if ln.startswith("  ") and ":" in ln]
        k = tag_lines[at % len(tag_lines)]
        key = lines[k].strip().lstrip("- ").split(":")[0]
        indent = lines[k][: len(lines[k]) - len(lines[k].lstrip("- "))].replace("-", " ")
        lines.insert(k + 1, f"{indent}{key}: duplicate value")
        path.write_text("\n".join(lines) + "\n")
    elif mode == "latin1":
        path.write_bytes(("\n".join(lines[:i]) + "\n").encode() + "label: caf\xe9\n".encode("latin-1")
                         + ("\n".join(lines[i:]) + "\n").encode())
    elif mode == "garbage-line":
        lines.insert(i, junk.replace("\n", " ").replace("\r", " "))
        path.write_text("\n".join(lines) + "\n")
    elif mode == "tab-indent":
        lines[i] = "\t" + lines[i]
        path.write_text("\n".join(lines) + "\n")
    else:
        path.write_bytes(text.encode("utf-16"))
    outcome = check(con, path, before)
    if mode in ("duplicate-key", "latin1", "bom-utf16"):
        assert outcome == "error", f"{mode} was accepted silently"
    con.close()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=st.integers(0, 2), col=st.sampled_from(["address", "label", "chain", "category", "confidence",
                                                     "tagged_on"]),
       value=st.one_of(st.just(""), st.just("0xZZ"), st.just("2.5"), st.just("-1"), st.just("nan"),
                       st.just("2024-02-30"), st.just(str(2**256)), st.just('"unterminated'), st.just("nochain")),
       encoding=st.sampled_from(["utf-8", "latin-1"]))
def test_malformed_csv_tags(base_db, tmp_path_factory, row, col, value, encoding):
    tmp = tmp_path_factory.mktemp("c")
    shutil.copy(base_db, tmp / "db.duckdb")
    con = store.connect(tmp / "db.duckdb")
    before = snapshot(con)
    cols = ["address", "label", "chain", "category", "confidence", "tagged_on"]
    rows = [["0x" + f"{n:02x}" * 20, f"Label {n}\xe9", "ethereum", "exchange", "0.9", "2024-01-01"] for n in (1, 2, 3)]
    rows[row][cols.index(col)] = value
    path = tmp / "other.csv"
    path.write_bytes((",".join(cols) + "\n" + "".join(",".join(r) + "\n" for r in rows)).encode(encoding))
    outcome = check(con, path, before)
    if encoding == "latin-1":
        assert outcome == "error"
    con.close()


def test_errors_are_chainsleuth_errors():
    assert issubclass(InputError, ChainsleuthError)
