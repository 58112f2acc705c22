"""Labels: a tag store with provenance, importers (GraphSense TagPacks, OFAC lists, CSV) and the
one-best-label-per-address view that tracing and screening use (:func:`address_labels`)."""

from chainsleuth.labels.resolve import address_labels, label_candidates

__all__ = ["address_labels", "label_candidates"]
