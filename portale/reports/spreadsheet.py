"""Cells written to CSV and XLSX files are neutralised against formula injection.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return as a formula (OWASP, "CSV Injection"). Names in exports come from people (procedure
types, municipalities, offices, authorities), so every text cell that starts so is prefixed
with a single quote, which spreadsheets show as text. Numbers are left alone: a negative
number is a number, not a formula.
"""

from __future__ import annotations

from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """``value`` unchanged unless it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def neutralise_row(values: Any) -> list[Any]:
    return [neutralise(v) for v in values]
