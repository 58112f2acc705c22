"""chainsleuth: open-source blockchain forensics toolkit.

Data flows one way: sources -> ``ingest`` -> ``store`` (DuckDB, one schema) -> analyses
(``cluster``, ``trace``, ``detect``, ``attribute``) -> interfaces (``cli``, ``api``, ``web``, ``report``).
"""

__version__ = "0.1.0"
