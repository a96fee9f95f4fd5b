"""The project's exceptions."""

from __future__ import annotations


class DataContractError(ValueError):
    """A dataset breaks the data contract in a way that stops the load.

    The message names the file, the column and the first offending rows, so a
    user can fix the input without reading the loader.
    """

    def __init__(self, message: str, *, file: str | None = None, column: str | None = None):
        self.file = file
        self.column = column
        super().__init__(message)


class ParameterError(ValueError):
    """A report or notebook parameter is unknown, mistyped or impossible."""


class BuildError(RuntimeError):
    """A report build could not run or publish (for example another build holds its folder)."""
