"""Screening: exposure of addresses to incidents, sanctioned entities and mixers, and a risk level with reasons."""

from chainsleuth.screen.batch import read_address_csv, screen_csv
from chainsleuth.screen.exposure import RiskPolicy, ScreenResult, screen, screen_chain

__all__ = ["RiskPolicy", "ScreenResult", "read_address_csv", "screen", "screen_chain", "screen_csv"]
