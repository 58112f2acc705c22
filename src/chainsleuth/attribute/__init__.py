"""Attribution: fingerprints of how incidents were laundered, a library of publicly analysed real cases,
per-feature similarity with reasons, and a score calibrated on simulated worlds."""

from chainsleuth.attribute.attribution import TraceSettings, attribute, subject_fingerprint, subjects
from chainsleuth.attribute.fingerprint import Fingerprint, compute_fingerprint
from chainsleuth.attribute.library import load_library
from chainsleuth.attribute.similarity import compare_fingerprints

__all__ = [
    "Fingerprint", "TraceSettings", "attribute", "compare_fingerprints", "compute_fingerprint", "load_library",
    "subject_fingerprint", "subjects",
]
