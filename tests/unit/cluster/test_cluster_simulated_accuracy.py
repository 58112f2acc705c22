"""Accuracy against the simulated world's truth (``owners.csv``): cluster precision and deposit recall."""

from __future__ import annotations

import pytest

from chainsleuth.cluster import cluster_chain
from chainsleuth.labels.importer import import_file

simulate = pytest.importorskip("chainsleuth.simulate").simulate
load_etl = pytest.importorskip("chainsleuth.ingest.etl").load_etl

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from chainsleuth import store

    out = tmp_path_factory.mktemp("world")
    simulate(out, seed=1, scale="small")
    con = store.connect(out / "w.duckdb")
    load_etl(con, out / "ethereum", "ethereum")
    load_etl(con, out / "bitcoin", "bitcoin")
    import_file(con, out / "tags.yaml")
    con.execute(f"CREATE TABLE owners AS SELECT * FROM read_csv('{out / 'owners.csv'}', all_varchar = true)")
    yield con
    con.close()


def precision(con, chain: str) -> tuple[float, int]:
    """Share of clustered addresses whose true owner is their cluster's majority owner. Detected deposit
    addresses are left out: the exchange owns them, and Victor's heuristic deliberately puts them in their
    customer's cluster."""
    return con.execute(
        """
        WITH m AS (SELECT c.cluster_id, o.owner FROM clusters c
                   JOIN owners o ON o.chain = c.chain AND o.address = c.address
                   ANTI JOIN (SELECT address FROM deposit_addresses WHERE chain = $chain) d ON d.address = c.address
                   WHERE c.chain = $chain),
        maj AS (SELECT cluster_id, mode(owner) AS owner FROM m GROUP BY 1)
        SELECT count(*) FILTER (WHERE m.owner = maj.owner)::DOUBLE / count(*), count(*) FROM m JOIN maj USING (cluster_id)
        """,
        {"chain": chain},
    ).fetchall()[0]


def test_bitcoin_cluster_precision(world):
    r = cluster_chain(world, "bitcoin")
    assert r["excluded"].get("coinjoin:equal-outputs", 0) > 0 and r["change_links"] > 0
    p, n = precision(world, "bitcoin")
    assert n > 5_000 and p >= 0.99, (p, n)


def test_ethereum_deposit_addresses_and_precision(world):
    r = cluster_chain(world, "ethereum")
    found, true_found, active = world.execute(
        """
        SELECT (SELECT count(DISTINCT address) FROM deposit_addresses WHERE chain = 'ethereum'),
               (SELECT count(DISTINCT d.address) FROM deposit_addresses d JOIN owners o
                  ON o.chain = 'ethereum' AND o.address = d.address AND o.role = 'deposit'),
               (SELECT count(DISTINCT o.address) FROM owners o JOIN transfers t
                  ON t.chain = 'ethereum' AND t.from_address = o.address
                WHERE o.chain = 'ethereum' AND o.role = 'deposit')
        """
    ).fetchall()[0]
    assert r["deposit_addresses"] == found > 0
    assert true_found / found >= 0.99  # detected deposits are real deposit addresses
    assert true_found / active >= 0.8  # share of (active) exchange deposit addresses found
    p, n = precision(world, "ethereum")
    assert n > 1_000 and p >= 0.99, (p, n)
