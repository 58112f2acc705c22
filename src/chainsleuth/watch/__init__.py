"""Watch-lists: follow attacker and tainted addresses as blocks are ingested; alert when their funds move."""

from chainsleuth.watch.monitor import alert_line, check, list_alerts, run
from chainsleuth.watch.watchlist import add, entries, remove

__all__ = ["add", "alert_line", "check", "entries", "list_alerts", "remove", "run"]
