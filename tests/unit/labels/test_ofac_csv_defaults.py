"""OFAC lists, CSV tags and the shipped default tag set (real data)."""

from __future__ import annotations

import pytest

from chainsleuth.errors import InputError
from chainsleuth.labels import address_labels
from chainsleuth.labels.defaults import data_dir, load_default_tags
from chainsleuth.labels.importer import import_file
from chainsleuth.labels.tagpack import read_tagpack


def _dspytdao_lazarus(shared_data) -> set[str]:
    """The OFAC Lazarus Group ETH addresses listed by dspytdao (Dune's '\\x..' notation)."""
    raw = (shared_data / "dspytdao-lazarus" / "LazarusGroup.txt").read_text().split()
    return {a.strip("',").replace("\\x", "0x").lower() for a in raw if a.strip("',")}


def test_ofac_lists_yield_lazarus_group_with_chain_and_category(con, shared_data):
    ofac = shared_data / "ofac-0xb10c"
    for asset in ("XBT", "ETH", "USDT"):
        import_file(con, ofac / f"sanctioned_addresses_{asset}.txt")
    import_file(con, ofac / "sanctioned_addresses_ETH.json")  # same dataset as the .txt: replaces, no duplicates
    import_file(con, shared_data / "graphsense-tagpacks" / "packs" / "lazarus.yaml")
    import_file(con, shared_data / "graphsense-tagpacks" / "actors" / "graphsense.actorpack.yaml")
    lazarus = read_tagpack(shared_data / "graphsense-tagpacks" / "packs" / "lazarus.yaml").records
    expected = {(r.chain, r.address) for r in lazarus} | {("ethereum", a) for a in _dspytdao_lazarus(shared_data)}
    assert len(expected) == 28
    ofac_rows = set(
        con.execute(
            "SELECT chain, address FROM tags WHERE dataset LIKE 'ofac:%' AND category = 'sanctioned' "
            "AND label = 'OFAC SDN sanctioned address'"
        ).fetchall()
    )
    assert expected <= ofac_rows
    assert con.execute("SELECT count(*) FROM tags WHERE dataset = 'ofac:ETH'").fetchall()[0][0] == 152
    for chain in ("bitcoin", "ethereum"):
        labels = {r["address"]: r for r in address_labels(con, chain).to_pylist()}
        for c, a in expected:
            if c != chain or a not in {r.address for r in lazarus}:
                continue
            assert labels[a]["category"] == "sanctioned"
            assert labels[a]["entity"] == "Lazarus Group" and labels[a]["actor"] == "lazarusgroup"
    # USDT list: addresses are placed on their chains by format
    chains = dict(con.execute("SELECT chain, count(*) FROM tags WHERE dataset = 'ofac:USDT' GROUP BY 1").fetchall())
    assert chains == {"ethereum": 8, "tron": 11, "bitcoin": 7}


def test_ofac_bad_line_is_reported(con, tmp_path):
    p = tmp_path / "sanctioned_addresses_ETH.txt"
    p.write_text("0x098B716B8Aaf21512996dC57EB0615e2383E2f96\n\n0x12345\n")
    with pytest.raises(InputError) as err:
        import_file(con, p)
    assert err.value.line == 3 and "not an EVM address" in err.value.reason
    assert con.execute("SELECT count(*) FROM tags").fetchall()[0][0] == 0


def test_csv_tags(con, tmp_path):
    p = tmp_path / "case.csv"
    p.write_text(
        "address,label,chain,category,actor,confidence\n"
        "0xBE0EB53F46CD790CD13851D5EFF43D12404D33E8,Binance 7,ethereum,exchange,binance,0.9\n"
        "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh,Suspect,,hacker,,\n"
    )
    r = import_file(con, p)
    assert r["tags"] == 2 and r["chains"] == {"ethereum": 1, "*": 1}
    rows = con.execute("SELECT chain, address, category, confidence FROM tags ORDER BY label").fetchall()
    assert rows == [
        ("ethereum", "0xbe0eb53f46cd790cd13851d5eff43d12404d33e8", "exchange", 0.9),
        (None, "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh", "hacker", None),
    ]
    p.write_text("address,label,category\n0xbe0eb53f46cd790cd13851d5eff43d12404d33e8,x,exchange\n0xabc,y,dex\n")
    with pytest.raises(InputError) as err:
        import_file(con, p)
    assert err.value.line == 3
    p.write_text("address,label,category\n0xbe0eb53f46cd790cd13851d5eff43d12404d33e8,x,wizard\n")
    with pytest.raises(InputError, match="unknown category"):
        import_file(con, p)
    assert con.execute("SELECT count(*) FROM tags").fetchall()[0][0] == 2


def test_default_tag_set_is_shipped_with_sources_and_idempotent(con):
    root = data_dir()
    assert (root / "SOURCE.md").is_file()
    assert (root / "ofac" / "LICENSE.txt").is_file() and (root / "graphsense-tagpacks" / "LICENSE.txt").is_file()
    first = load_default_tags(con)
    n = con.execute("SELECT count(*) FROM tags").fetchall()[0][0]
    second = load_default_tags(con)
    assert n == first["tags"] == second["tags"] == con.execute("SELECT count(*) FROM tags").fetchall()[0][0]
    assert first["actors"] > 3000 and len(first["skipped_invalid"]) == 3
    # the Binance reserve wallet and Tornado Cash pools are exits / mixers out of the box
    eth = {r["address"]: r for r in address_labels(con, "ethereum").to_pylist()}
    assert eth["0xbe0eb53f46cd790cd13851d5eff43d12404d33e8"]["category"] == "exchange"
    assert eth["0xbe0eb53f46cd790cd13851d5eff43d12404d33e8"]["entity"] == "Binance"
    assert eth["0x910cbd523d972eb0a6f4cae4618ad62622b39dbf"]["category"] in ("mixer", "sanctioned")
