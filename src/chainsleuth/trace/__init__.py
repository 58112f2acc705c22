"""Tracing stolen funds: where did the money go (forward), where did it come from (backward).

``trace(con, sources, chain, ...) -> TraceResult`` under the poison, haircut or FIFO taint model; see
:mod:`chainsleuth.trace.engine` for the pipeline and ``docs/tracing.md`` for the design.
"""

from chainsleuth.trace.engine import DEFAULT_MAX_HOPS, read_sources_file, trace
from chainsleuth.trace.result import ExitPoint, FlowEdge, Resting, TraceResult

__all__ = ["DEFAULT_MAX_HOPS", "ExitPoint", "FlowEdge", "Resting", "TraceResult", "read_sources_file", "trace"]
