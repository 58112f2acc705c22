"""TagPack reader and importer: header inheritance, taxonomy mapping, errors with file and line, atomicity."""

from __future__ import annotations

import textwrap

import pytest

from chainsleuth.errors import InputError
from chainsleuth.labels.importer import import_file
from chainsleuth.labels.tagpack import read_tagpack

PACK = textwrap.dedent(
    """\
    title: Test pack
    creator: Test Team
    description: two exchanges and a hacker
    lastmod: 2023-05-01
    source: https://example.org/source
    currency: ETH
    category: exchange
    confidence: service_data
    tags:
    - address: '0xbe0eb53f46cd790cd13851d5eff43d12404d33e8'
      label: Binance 7
      actor: binance
    - address: 1Archive1n2C579dMsAu3iC6tWzuQJz8dN
      currency: BTC
      label: some exchange
    - address: '0xA0DF9CA52e8aB5DDe22C55D9B3C2CDF814B9B773'
      label: Bad guy
      category: user
      abuse: service_hack
      confidence: forensic
      lastmod: 2024-01-02
    """
)


def write(tmp_path, text, name="pack.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_header_fields_are_inherited_and_mapped(tmp_path):
    pack = read_tagpack(write(tmp_path, PACK))
    assert pack.title == "Test pack" and len(pack.records) == 3
    binance, btc, bad = pack.records
    assert (binance.chain, binance.address, binance.category, binance.actor) == (
        "ethereum", "0xbe0eb53f46cd790cd13851d5eff43d12404d33e8", "exchange", "binance")
    assert binance.source == "https://example.org/source" and binance.confidence == 0.9
    assert binance.added_by == "Test Team" and str(binance.tagged_on) == "2023-05-01"
    assert (btc.chain, btc.address, btc.category) == ("bitcoin", "1Archive1n2C579dMsAu3iC6tWzuQJz8dN", "exchange")
    # category 'user' is generic, so the abuse type decides; the checksummed address is stored lower-case
    assert (bad.category, bad.confidence, str(bad.tagged_on)) == ("hacker", 0.8, "2024-01-02")
    assert bad.address == "0xa0df9ca52e8ab5dde22c55d9b3c2cdf814b9b773"


@pytest.mark.parametrize(
    "mutate, line, reason",
    [
        (lambda t: t.replace("  label: some exchange\n", ""), 13, "missing mandatory field 'label'"),
        (lambda t: t.replace("title: Test pack\n", ""), 1, "missing mandatory header field 'title'"),
        (lambda t: t.replace("category: user", "category: wizard"), 16, "not in the GraphSense taxonomy"),
        (lambda t: t.replace("confidence: forensic", "confidence: gut_feeling"), 16, "unknown confidence"),
        (lambda t: t.replace("B773", "B77"), 16, "not an EVM address"),
        (lambda t: t.replace("5DDe", "5DDE"), 16, "EIP-55 checksum"),
        (lambda t: t.replace("  label: Binance 7", "  label: [Binance 7"), 12, "malformed YAML"),
        (lambda t: t + "  colour: red\n", 16, "unknown field(s) colour"),
    ],
)
def test_bad_packs_name_file_line_and_reason(tmp_path, mutate, line, reason):
    path = write(tmp_path, mutate(PACK))
    with pytest.raises(InputError) as err:
        read_tagpack(path)
    assert err.value.file == str(path)
    assert reason in err.value.reason
    assert err.value.line == line, str(err.value)


def test_import_is_idempotent_and_atomic(con, tmp_path):
    path = write(tmp_path, PACK)
    first = import_file(con, path)
    second = import_file(con, path)
    assert first["tags"] == second["tags"] == 3 and second["replaced"] == 3
    assert con.execute("SELECT count(*) FROM tags").fetchall()[0][0] == 3
    # a broken new version of the same file fails and leaves the stored version untouched
    path.write_text(PACK.replace("  label: some exchange\n", "").replace("Binance 7", "Binance 8"))
    with pytest.raises(InputError):
        import_file(con, path)
    assert con.execute("SELECT label FROM tags WHERE actor = 'binance'").fetchall() == [("Binance 7",)]
    assert con.execute("SELECT count(*) FROM tags").fetchall()[0][0] == 3


def test_skip_invalid_lists_skipped_tags(con, tmp_path):
    path = write(tmp_path, PACK.replace("B773", "B77"))
    r = import_file(con, path, skip_invalid=True)
    assert r["tags"] == 2 and len(r["skipped_invalid"]) == 1 and ":16:" in r["skipped_invalid"][0]


@pytest.mark.slow
def test_every_real_graphsense_pack_parses(shared_data):
    """All 68 published packs (59 + 9 in defi_updated/) parse; the only failures are real address slips, reported with their line."""
    packs = sorted((shared_data / "graphsense-tagpacks" / "packs").rglob("*.yaml"))
    assert len(packs) == 68
    total, invalid = 0, []
    for p in packs:
        pack = read_tagpack(p, skip_invalid=True)
        total += len(pack.records)
        invalid += pack.invalid
    assert total > 100_000
    assert len(invalid) == 5 and all(":" in s for s in invalid)
