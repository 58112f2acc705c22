"""OFAC sanctioned digital-currency address lists (one file per asset, as 0xB10C's
``ofac-sanctioned-digital-currency-addresses`` publishes them from OFAC's ``sdn_advanced.xml``).

Files are ``sanctioned_addresses_<ASSET>.txt`` (one address a line) or ``.json`` (a list of strings). The
asset code names the chain (XBT -> bitcoin, ETH -> ethereum, TRX -> tron, BSC -> bsc, ...); token lists
(USDT, USDC) hold addresses of several chains, placed by address format. These lists do not say which SDN
entry (Lazarus Group, Garantex, ...) an address belongs to, so tags carry category 'sanctioned' and no actor;
entity names come from other tags on the same address (e.g. the GraphSense Lazarus TagPacks), which
:func:`chainsleuth.labels.address_labels` merges.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from chainsleuth.errors import AddressError, InputError
from chainsleuth.labels.tagstore import TagRecord, normalize_for_chain
from chainsleuth.labels.taxonomy import chain_for_currency

OFAC_SOURCE = "https://www.treasury.gov/ofac/downloads/sanctions/1.0/sdn_advanced.xml"
OFAC_LABEL = "OFAC SDN sanctioned address"
_NAME = re.compile(r"sanctioned_addresses_([A-Za-z0-9]+)\.(txt|json)$")


def asset_of(path: str | Path) -> str | None:
    """The asset code in an OFAC list file name, or None if the name does not follow the convention."""
    m = _NAME.search(Path(path).name)
    return m.group(1).upper() if m else None


def read_ofac(path: str | Path, asset: str | None = None) -> list[TagRecord]:
    """Tags for every address in one OFAC list file (``asset`` overrides the code in the file name)."""
    path = Path(path)
    file = str(path)
    code = (asset or asset_of(path) or "").upper()
    if not code:
        raise InputError(file, None, "cannot tell the asset: name the file sanctioned_addresses_<ASSET>.txt "
                                     "or pass the asset explicitly")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(file, None, f"not UTF-8 text: {exc}") from None
    entries: list[tuple[int, str]] = []
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(file, exc.lineno, f"malformed JSON: {exc.msg}") from None
        if not isinstance(data, list) or not all(isinstance(a, str) for a in data):
            raise InputError(file, 1, "expected a JSON list of address strings")
        lines = text.splitlines()
        for a in data:  # line of each address, for error messages
            lineno = next((i + 1 for i, ln in enumerate(lines) if f'"{a}"' in ln), None)
            entries.append((lineno or 1, a))
    else:
        for i, raw in enumerate(text.splitlines()):
            s = raw.strip()
            if s and not s.startswith("#"):
                entries.append((i + 1, s))
    records = []
    for line, raw in entries:
        chain = chain_for_currency(code, raw)
        try:
            address = normalize_for_chain(raw, chain)
        except AddressError as exc:
            raise InputError(file, line, str(exc)) from None
        records.append(
            TagRecord(
                chain=chain, address=address, label=OFAC_LABEL, category="sanctioned", actor=None,
                source=OFAC_SOURCE, confidence=1.0, tagged_on=None, added_by="US Treasury OFAC",
                note=f"OFAC SDN digital currency address, asset {code}",
            )
        )
    return records
