"""The shipped library of known incidents (``attribute/data/known/*.yaml``).

Each file holds the features that public analyses of one real case state (FBI and Treasury statements,
Elliptic / TRM / Chainalysis write-ups), each with the source it comes from; features they do not state
are absent and therefore unknown (neither agree nor disagree). See ``data/SOURCE.txt``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

from chainsleuth.attribute.features import FEATURES
from chainsleuth.attribute.fingerprint import Fingerprint
from chainsleuth.errors import InputError


def _parse(text: str, where: str) -> Fingerprint:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(where, mark.line + 1 if mark else None, f"invalid YAML: {exc}") from None
    if not isinstance(doc, dict) or "name" not in doc:
        raise InputError(where, None, "a known incident needs a mapping with 'name'")
    source_ids = {s.get("id") for s in doc.get("sources", [])}
    features: dict = dict.fromkeys(FEATURES)
    provenance: dict[str, str] = {}
    for name, spec in (doc.get("features") or {}).items():
        if name not in FEATURES:
            raise InputError(where, None, f"unknown feature {name!r}; known: {', '.join(FEATURES)}")
        if not isinstance(spec, dict) or "value" not in spec or "source" not in spec:
            raise InputError(where, None, f"feature {name!r} needs 'value' and 'source'")
        cited = {s.strip() for s in str(spec["source"]).split(",")}
        if not cited <= source_ids:
            raise InputError(where, None, f"feature {name!r} cites unknown source(s) {sorted(cited - source_ids)}")
        kind = FEATURES[name].kind
        value = spec["value"]
        if kind == "set":
            value = set(value)
        elif kind == "hours" and len(value) != 24:
            raise InputError(where, None, f"feature {name!r} needs 24 hourly counts")
        features[name] = value
        provenance[name] = str(spec["source"]) + (f": {spec['note']}" if spec.get("note") else "")
    return Fingerprint(
        subject=doc["name"], kind="library", features=features, title=doc.get("title"), provenance=provenance,
        sources=list(doc.get("sources", [])),
    )


def load_library(folder: str | Path | None = None) -> list[Fingerprint]:
    """Every known incident, by name. ``folder`` overrides the shipped one (for tests or local additions)."""
    if folder is not None:
        entries = [(p.name, p.read_text(encoding="utf-8"), str(p)) for p in sorted(Path(folder).glob("*.yaml"))]
    else:
        base = resources.files("chainsleuth.attribute") / "data" / "known"
        entries = sorted(
            (e.name, e.read_text(encoding="utf-8"), f"chainsleuth/attribute/data/known/{e.name}")
            for e in base.iterdir() if e.name.endswith(".yaml")
        )
    return [_parse(text, where) for _, text, where in entries]
