"""The Sankey draws each coin once per hop: lateral moves and swap legs are not counted again."""

from collections import defaultdict

from chainsleuth.report.content import sankey


def edge(frm, to, usd, hop, kind="transfer"):
    return {"chain": "ethereum", "from": frm, "to": to, "usd": usd, "amount": str(int(usd)), "asset": "ETH",
            "hop": hop, "kind": kind, "tx_hash": f"0x{frm}{to}{hop}"}


def test_columns_never_exceed_what_left_the_sources():
    edges = [
        edge("s", "a", 100, 1), edge("s", "b", 50, 1),
        edge("b", "a", 50, 2),  # consolidation between two addresses first reached at hop 1
        edge("a", "pool", 150, 2, "swap"), edge("pool", "a", 150, 2, "swap"),  # swap: value comes back
        edge("a", "x", 150, 2), edge("x", "y", 90, 3), edge("x", "z", 60, 3),
    ]
    sk = sankey(edges, ["s"], {}, {})
    col = defaultdict(float)
    for link in sk["links"]:
        col[int(link["target"].split(":")[0])] += link["value"]
    assert dict(col) == {1: 150.0, 2: 150.0, 3: 150.0}
