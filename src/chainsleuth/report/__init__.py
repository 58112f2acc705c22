"""Acting on findings: case reports (HTML/JSON/CSV), freeze requests, victim lists, GraphML and STIX 2.1."""

from chainsleuth.report.content import build_report
from chainsleuth.report.files import render_files, write_report
from chainsleuth.report.subject import resolve

__all__ = ["build_report", "render_files", "resolve", "write_report"]
