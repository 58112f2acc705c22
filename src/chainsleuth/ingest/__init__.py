"""Ingesters: one module per source. Each writes the canonical tables of ``store`` and nothing else."""
