"""Exceptions and warnings of the data layer.

Every error names the file, and where it applies the variable and the row, and says what to do;
the CLI prints the message (no traceback) and exits non-zero.

Example:
    >>> err = DataError("bad.csv", "text in a numeric column", variable="TA_F", row=12)
    >>> print(err)
    bad.csv: variable TA_F, row 12: text in a numeric column
"""

from __future__ import annotations

__all__ = ["DataError", "PlausibilityWarning", "UnknownVariableWarning"]


class DataError(ValueError):
    """A file that cannot be read into a valid canonical dataset.

    Args:
        path: the offending file (``str`` or path-like).
        message: what is wrong and, where possible, what to do about it.
        variable: the variable (column) concerned, if any.
        row: the 1-based line number in the file (header lines counted), if any.
    """

    def __init__(self, path, message: str, *, variable: str | None = None, row: int | None = None):
        self.path = str(path)
        self.variable = variable
        self.row = row
        self.message = message
        where = [self.path]
        if variable is not None:
            where.append(f"variable {variable}")
        if row is not None:
            where.append(f"row {row}")
        prefix = where[0] if len(where) == 1 else f"{where[0]}: {', '.join(where[1:])}"
        super().__init__(f"{prefix}: {message}")


class PlausibilityWarning(UserWarning):
    """Values outside the plausible range of a variable (wrong units, sensor faults)."""


class UnknownVariableWarning(UserWarning):
    """A column whose units a reader does not know; it is left out of the Dataset."""
