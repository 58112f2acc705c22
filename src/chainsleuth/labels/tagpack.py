"""GraphSense TagPack and ActorPack reader, validated against the published TagPack schema.

A TagPack (https://github.com/graphsense/graphsense-tagpacks/wiki/GraphSense-TagPacks) is a YAML document
with header fields (``title``, ``creator`` mandatory; ``description``, ``is_public``, ``lastmod`` optional)
and a ``tags:`` list. Every other header field (``label``, ``source``, ``currency``/``network``,
``category``, ``abuse``, ``confidence``, ``actor``, ``is_cluster_definer``, ``context``, ...) is inherited by
each tag that does not set it. After inheritance a tag needs ``address``, ``label``, ``source`` and
``currency`` or ``network``; a ``category`` must come from the GraphSense taxonomy, a ``confidence`` from its
confidence ids. Errors name the file and the line of the offending tag (from the YAML node marks), and
nothing is returned for a pack with any error, so an import is all-or-nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from chainsleuth.errors import AddressError, InputError
from chainsleuth.labels.tagstore import TagRecord, normalize_for_chain
from chainsleuth.labels.taxonomy import (
    DEFAULT_CONFIDENCE,
    GRAPHSENSE_ABUSES,
    GRAPHSENSE_CATEGORIES,
    GRAPHSENSE_CONFIDENCE,
    category_from_graphsense,
    chain_for_currency,
)

try:  # libyaml is ~10x faster on the 50k-line packs
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - pure-Python fallback
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

HEADER_ONLY = frozenset({"title", "creator", "description", "is_public", "tags"})
MANDATORY_HEADER = ("title", "creator", "tags")
TAG_FIELDS = frozenset(
    {
        "address", "tx_hash", "label", "source", "currency", "network", "category", "abuse", "confidence",
        "context", "is_cluster_definer", "lastmod", "actor", "concepts",
    }
)


@dataclass(frozen=True)
class TagPack:
    title: str
    creator: str
    records: list[TagRecord]
    skipped_tx_tags: int  # tags on transaction hashes (no address): not address labels
    invalid: list[str]  # "file:line: reason" of tags skipped with skip_invalid=True


def _load(path: Path) -> tuple[Any, yaml.Node]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(str(path), raw[: exc.start].count(b"\n") + 1, f"not UTF-8 text: {exc}") from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise InputError(str(path), 1, "empty file: a TagPack needs a header and a tags: list")
        _no_duplicate_keys(str(path), node)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise InputError(str(path), line, f"malformed YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:  # a ReaderError (control character) knows its offset, not its line
        pos = getattr(exc, "position", None)
        line = text[:pos].count("\n") + 1 if isinstance(pos, int) else None
        raise InputError(str(path), line, f"malformed YAML: {exc}") from None
    finally:
        loader.dispose()
    return data, node


def _no_duplicate_keys(file: str, node: yaml.Node) -> None:
    """YAML loaders keep the last of repeated keys silently; in a TagPack that drops a label or an address."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.MappingNode):
            seen: dict[object, int] = {}
            for k, v in n.value:
                key = k.value if isinstance(k, yaml.ScalarNode) else id(k)
                if key in seen:
                    raise InputError(file, k.start_mark.line + 1,
                                     f"duplicate key {key!r} (first on line {seen[key]})")
                seen[key] = k.start_mark.line + 1
                stack.append(v)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)


def _key_line(mapping: yaml.MappingNode, key: str) -> int:
    for k, _v in mapping.value:
        if k.value == key:
            return k.start_mark.line + 1
    return mapping.start_mark.line + 1


def _date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return None


def is_actorpack(path: str | Path) -> bool:
    """Whether a YAML file is an ActorPack (``actors:`` list) rather than a TagPack."""
    data, _node = _load(Path(path))
    return isinstance(data, dict) and "actors" in data and "tags" not in data


def read_tagpack(path: str | Path, *, strict_checksum: bool = True, skip_invalid: bool = False) -> TagPack:
    """Parse and validate a TagPack; every tag inherits the header fields it does not set itself.

    ``strict_checksum=False`` accepts mixed-case EVM addresses whose EIP-55 checksum fails (some published
    packs have such case slips); by default they are errors, as a wrong checksum usually means a typo.
    ``skip_invalid=True`` skips tags whose address does not fit their chain (an Avalanche X-chain address
    under ``currency: AVAX``) and lists them in ``TagPack.invalid`` instead of failing the whole pack; every
    other error still fails it.
    """
    path = Path(path)
    file = str(path)
    data, root = _load(path)
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        raise InputError(file, 1, "a TagPack is a mapping with a header and a tags: list")
    for key in MANDATORY_HEADER:
        if data.get(key) in (None, ""):
            raise InputError(file, 1, f"missing mandatory header field {key!r}")
    tags = data["tags"]
    tags_node = next(v for k, v in root.value if k.value == "tags")
    if not isinstance(tags, list) or not isinstance(tags_node, yaml.SequenceNode):
        raise InputError(file, _key_line(root, "tags"), "'tags' must be a list of tags")
    unknown_header = set(data) - HEADER_ONLY - TAG_FIELDS - {"lastmod"}
    if unknown_header:
        raise InputError(file, _key_line(root, sorted(unknown_header)[0]),
                         f"unknown header field(s): {', '.join(sorted(unknown_header))}")
    inherited = {k: v for k, v in data.items() if k not in HEADER_ONLY}
    title, creator = str(data["title"]), str(data["creator"])
    records: list[TagRecord] = []
    tx_tags = 0
    invalid: list[str] = []
    for i, tag in enumerate(tags):
        tnode = tags_node.value[i]
        line = tnode.start_mark.line + 1
        if not isinstance(tag, dict):
            raise InputError(file, line, f"tag {i + 1} is not a mapping of fields")
        unknown = set(tag) - TAG_FIELDS
        if unknown:
            raise InputError(file, line, f"tag {i + 1}: unknown field(s) {', '.join(sorted(unknown))}")
        t = {**inherited, **tag}
        if t.get("address") in (None, "") and t.get("tx_hash"):
            tx_tags += 1
            continue
        try:
            records.append(_record(file, line, i + 1, t, title, creator, strict_checksum))
        except _BadAddress as exc:
            if not skip_invalid:
                raise InputError(file, line, str(exc)) from None
            invalid.append(f"{file}:{line}: {exc}")
    return TagPack(title=title, creator=creator, records=records, skipped_tx_tags=tx_tags, invalid=invalid)


class _BadAddress(Exception):
    pass


def _record(
    file: str, line: int, n: int, t: dict, title: str, creator: str, strict_checksum: bool
) -> TagRecord:
    for key in ("address", "label", "source"):
        if t.get(key) in (None, ""):
            raise InputError(file, line, f"tag {n}: missing mandatory field {key!r} (not in the tag nor the header)")
    code = t.get("network") or t.get("currency")
    if code in (None, ""):
        raise InputError(file, line, f"tag {n}: missing mandatory field 'currency' or 'network'")
    raw_address = str(t["address"]).strip()
    chain = chain_for_currency(str(code), raw_address)
    try:
        address = normalize_for_chain(raw_address, chain, strict_checksum=strict_checksum)
    except AddressError as exc:
        raise _BadAddress(f"tag {n}: {exc}") from None
    gs_category = t.get("category")
    if gs_category is not None and str(gs_category).strip().lower() not in GRAPHSENSE_CATEGORIES:
        raise InputError(file, line, f"tag {n}: category {gs_category!r} is not in the GraphSense taxonomy")
    abuse = t.get("abuse")
    if abuse is not None and str(abuse).strip().lower() not in GRAPHSENSE_ABUSES:
        raise InputError(file, line, f"tag {n}: abuse {abuse!r} is not in the GraphSense abuse taxonomy")
    conf_id = t.get("confidence")
    if conf_id is None:
        confidence = DEFAULT_CONFIDENCE
    elif isinstance(conf_id, int | float) and not isinstance(conf_id, bool):
        confidence = float(conf_id) / 100 if conf_id > 1 else float(conf_id)
    elif str(conf_id).strip() in GRAPHSENSE_CONFIDENCE:
        confidence = GRAPHSENSE_CONFIDENCE[str(conf_id).strip()]
    else:
        raise InputError(file, line, f"tag {n}: unknown confidence {conf_id!r}; one of "
                                     f"{', '.join(GRAPHSENSE_CONFIDENCE)}")
    category = category_from_graphsense(
        str(gs_category) if gs_category is not None else None, str(abuse) if abuse is not None else None
    )
    note_parts = [f"tagpack {title!r}"]
    if gs_category is not None:
        note_parts.append(f"graphsense category={gs_category}")
    if abuse is not None:
        note_parts.append(f"abuse={abuse}")
    if t.get("is_cluster_definer") is not None:
        note_parts.append(f"is_cluster_definer={str(bool(t['is_cluster_definer'])).lower()}")
    actor = t.get("actor")
    return TagRecord(
        chain=chain,
        address=address,
        label=str(t["label"]).strip(),
        category=category.value if category is not None else None,
        actor=str(actor).strip() if actor not in (None, "") else None,
        source=str(t["source"]).strip(),
        confidence=confidence,
        tagged_on=_date(t.get("lastmod")),
        added_by=creator,
        note="; ".join(note_parts),
    )


def read_actorpack(path: str | Path) -> list[dict]:
    """Actors of a GraphSense ActorPack: [{actor, label, categories, uri}]; ids must be unique."""
    path = Path(path)
    data, root = _load(path)
    if not isinstance(data, dict) or not isinstance(data.get("actors"), list):
        raise InputError(str(path), 1, "an ActorPack is a mapping with an actors: list")
    actors_node = next(v for k, v in root.value if k.value == "actors")
    seen: dict[str, int] = {}
    out = []
    for i, a in enumerate(data["actors"]):
        line = actors_node.value[i].start_mark.line + 1
        if not isinstance(a, dict) or not a.get("id") or not a.get("label"):
            raise InputError(str(path), line, f"actor {i + 1}: needs an id and a label")
        aid = str(a["id"]).strip()
        if aid in seen:
            raise InputError(str(path), line, f"actor id {aid!r} repeated (first on line {seen[aid]})")
        seen[aid] = line
        cats = a.get("categories") or []
        out.append({"actor": aid, "label": str(a["label"]).strip(),
                    "categories": ",".join(str(c) for c in cats), "uri": a.get("uri")})
    return out
