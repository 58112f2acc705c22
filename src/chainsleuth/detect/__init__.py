"""Detection: drain-wave incidents over the ledger, hand-declared cases, and laundering typologies over
traced flows."""

from chainsleuth.detect.cases import Case, create_case, get_case, list_cases
from chainsleuth.detect.drain import DrainParams, Incident, detect_drain_waves
from chainsleuth.detect.incidents import detect_incidents, get_incident, list_incidents
from chainsleuth.detect.typologies import DETECTORS, Typology, detect_typologies

__all__ = [
    "DETECTORS", "Case", "DrainParams", "Incident", "Typology", "create_case", "detect_drain_waves",
    "detect_incidents", "detect_typologies", "get_case", "get_incident", "list_cases", "list_incidents",
]
