"""Errors a user can act on. Interfaces print ``str(err)`` and exit non-zero; no traceback needed."""


class ChainsleuthError(Exception):
    """Base class: a clear, user-facing message."""


class InputError(ChainsleuthError):
    """Malformed input: names the file, the line (1-based, header = line 1) and the reason."""

    def __init__(self, file: str, line: int | None, reason: str):
        self.file, self.line, self.reason = file, line, reason
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {reason}")


class AddressError(ChainsleuthError):
    """An address that is not valid for its chain (bad hex, wrong length, bad checksum)."""


class NotFoundError(ChainsleuthError):
    """Something asked for by name or id is not in the database."""
