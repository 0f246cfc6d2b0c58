"""What every report shares: exports that round-trip, cells a spreadsheet or a terminal
cannot be made to run, amounts formatted in their own currency."""

from __future__ import annotations

import csv
import io
import json

import attrs
import pytest

from ledger.errors import InvalidCommand
from projections.reports import REPORTS
from projections.reports.base import Report, Section, check_day, check_period


@attrs.frozen
class Row:
    name: str
    currency: str
    amount_minor: int


def _report(*rows: Row) -> Report:
    return Report("demo", "Demo", {"date": "2026-12-01"}, (Section("rows", Row, rows),), log_seq=7)


def test_csv_cells_that_look_like_formulas_are_quoted_and_numbers_stay_numbers() -> None:
    report = _report(
        Row('=HYPERLINK("http://x","y")', "THB", -500), Row("@sum", "THB", 5), Row("ok", "THB", 0)
    )
    rows = list(csv.reader(io.StringIO(report.to_csv("rows"))))
    assert rows == [
        ["name", "currency", "amount_minor"],
        ['\'=HYPERLINK("http://x","y")', "THB", "-500"],
        ["'@sum", "THB", "5"],
        ["ok", "THB", "0"],
    ]
    document = json.loads(report.to_json())
    assert document["sections"]["rows"][0]["name"].startswith("=")  # JSON is data, unchanged
    assert document["log_seq"] == 7 and "log_seq" not in json.loads(report.content())


def test_the_terminal_table_escapes_control_characters() -> None:
    table = _report(Row("shop\x1b[2J\nnext", "THB", 1)).to_table()
    assert "\x1b" not in table and "\\x1b[2J\\nnext" in table
    assert "log_seq=7" in table.splitlines()[1]


def test_amounts_are_formatted_in_the_rows_own_currency() -> None:
    table = _report(Row("a", "JPY", 1_500), Row("b", "KWD", 1_500), Row("c", "XXX?", 1_500))
    text = table.to_table()
    assert "1,500" in text and "1.500" in text and "15.00" in text


@pytest.mark.parametrize(
    "value", ["2026-12-01", None, 20261201, True, __import__("datetime").datetime(2026, 12, 1)]
)
def test_a_day_is_a_date(value: object) -> None:
    with pytest.raises(InvalidCommand):
        check_day(value)


def test_a_period_runs_forwards() -> None:
    from datetime import date

    assert check_period(date(2026, 12, 1), date(2026, 12, 1)) == (date(2026, 12, 1),) * 2
    with pytest.raises(InvalidCommand, match="after its end"):
        check_period(date(2026, 12, 2), date(2026, 12, 1))


def test_every_registered_report_loads() -> None:
    for spec in REPORTS.values():
        assert callable(spec.load()) and spec.period in ("day", "range")
