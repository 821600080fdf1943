"""Errors a user can act on, and the exit codes that scripts rely on."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes: a contract for schedulers and wrapper scripts."""

    CLEAN = 0  # nothing at or above --fail-on
    FINDINGS = 1  # findings at or above --fail-on
    USAGE = 2  # bad command line (click's own code for usage errors)
    INPUT_ERROR = 3  # malformed input or failed extraction; nothing written
    PARTIAL = 4  # a source failed; the run is stored as partial
    INTERNAL_ERROR = 5  # a bug (an unexpected exception); nothing written


class ReconcileError(Exception):
    """Base of the errors that stop a run with a message instead of a traceback."""

    exit_code: ExitCode = ExitCode.INPUT_ERROR


class InputError(ReconcileError):
    """An input file is not what its name promises.

    The message always names the file, where in it (line or record), and what was expected, so
    the directory team can fix the export without reading our code.
    """

    def __init__(self, file: str, where: str | None, problem: str):
        self.file = file
        self.where = where
        self.problem = problem
        location = f"{file}: {where}" if where else file
        super().__init__(f"{location}: {problem}")


class SourceError(ReconcileError):
    """A live source failed after its retry budget (a dropped LDAP connection, a Graph page that
    keeps failing). Not a broken run: the inputs it feeds are marked failed, the rules needing them
    are skipped, and the run is stored as partial (exit 4)."""


class EmptySourceError(SourceError):
    """A source that must hold people returned none (an LDAP search, a Graph tenant, a Mattermost server,
    or an export file of one of them). Zero people is never a real directory or tenant: it is a wrong base
    DN, filter, server or file, so the source counts as read but failed (a partial run), never as a
    population that happens to be empty, which would silently turn every finding about it into a pass.
    ``file`` says where it was read (the export's name, the server's URL)."""

    def __init__(self, message: str, file: str | None = None):
        super().__init__(message)
        self.file = file


class ReportsNotWritten(ReconcileError):
    """The run is stored, but its report set could not be written: exit 5, and the message must not
    claim that nothing was written (the previous report set is still the current one)."""

    exit_code = ExitCode.INTERNAL_ERROR


class MemoryLimitError(ReconcileError):
    """DuckDB needed more memory than the run's limit allows even after spilling to disk: nothing is
    written, and the message says which setting to raise. Not an input error, not a bug: exit 5."""

    exit_code = ExitCode.INTERNAL_ERROR
