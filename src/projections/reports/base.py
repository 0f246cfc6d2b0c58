"""What every report is: typed rows in named sections, exported as CSV, JSON or a table.

A report function takes a :class:`~projections.runner.Runner` (it catches the read
models up first, so the report reflects the whole committed log) and a day or a period,
and returns a :class:`Report`. Rows are frozen attrs classes; amounts are ``int`` minor
units in columns named ``*_minor``, exact in CSV and JSON and formatted only in the
terminal table. ``findings`` holds what must not be missed (a safeguarding shortfall):
``Report.ok`` is False and ``satang report`` exits non-zero when there are any.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Literal

import attrs

from ledger.errors import InvalidCommand
from ledger.money import CURRENCIES, format_amount
from projections.runner import Runner


@attrs.frozen
class Section:
    """One table of a report: rows of one attrs class."""

    name: str
    row_type: type
    rows: tuple[Any, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in attrs.fields(self.row_type))

    def records(self) -> list[dict[str, Any]]:
        """Each row as a dict of plain JSON values (dates and times in ISO 8601)."""
        return [{c: _plain(getattr(r, c)) for c in self.columns} for r in self.rows]


def _plain(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


@attrs.frozen
class Report:
    """A report as of a day or for a period, in one or more sections."""

    name: str
    title: str
    parameters: dict[str, str]
    """What it was asked for (day, period, time zone, thresholds), as text."""
    sections: tuple[Section, ...]
    currency: str = "THB"
    findings: tuple[str, ...] = ()
    """Breaches a reader must not miss; empty when all is well."""
    log_seq: int = 0
    """The log position the read models stood at: a runner pinned to it
    (``Runner(book, ":memory:", until=log_seq)``) reproduces this report exactly, even
    after backdated entries have changed the day's figures since."""

    @property
    def ok(self) -> bool:
        return not self.findings

    def section(self, name: str) -> Section:
        for s in self.sections:
            if s.name == name:
                return s
        raise KeyError(f"report {self.name} has no section {name!r}")

    def rows(self, name: str) -> tuple[Any, ...]:
        return self.section(name).rows

    def to_json(self) -> str:
        """The whole report as one JSON document, with the log position it was made at."""
        return json.dumps({"log_seq": self.log_seq, **self._document()}, indent=2)

    def content(self) -> str:
        """The JSON of what the report says, without the log position: equal for two
        computations of one day's report that saw the same facts."""
        return json.dumps(self._document(), indent=2)

    def _document(self) -> dict[str, Any]:
        return dict(
            {
                "report": self.name,
                "title": self.title,
                "parameters": self.parameters,
                "currency": self.currency,
                "ok": self.ok,
                "findings": list(self.findings),
                "sections": {s.name: s.records() for s in self.sections},
            }
        )

    def to_csv(self, section: str | None = None) -> str:
        """One section as CSV (header row, then rows), or every section, each headed
        by a ``# section: NAME`` line and separated by a blank line."""
        chosen = self.sections if section is None else (self.section(section),)
        blocks = []
        for s in chosen:
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(s.columns)
            for record in s.records():
                writer.writerow([_csv_safe(v) for v in record.values()])
            text = out.getvalue()
            blocks.append(text if section is not None else f"# section: {s.name}\n{text}")
        return "\n".join(blocks)

    def to_table(self, max_rows: int | None = None) -> str:
        """A readable text rendering: amounts formatted in the currency, aligned. With
        ``max_rows``, each section shows its first rows and says how many it left out."""
        given = {**self.parameters, "log_seq": str(self.log_seq)}
        lines = [self.title, "  " + "  ".join(f"{k}={v}" for k, v in given.items())]
        for s in self.sections:
            lines += ["", f"{s.name}:"]
            lines += _table(s, self.currency, max_rows)
        if self.findings:
            lines.append("")
            lines += [f"!! {finding}" for finding in self.findings]
        return "\n".join(lines) + "\n"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_safe(value: object) -> object:
    """A CSV cell a spreadsheet will not run: text (an account id, a wallet type a backend
    wrote) that starts like a formula is prefixed with ``'``. Numbers stay numbers."""
    if isinstance(value, list):
        value = " ".join(map(str, value))
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _printable(text: str) -> str:
    """Text for a terminal: control characters (an escape sequence in an account's
    metadata) are shown escaped, never sent."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def _cell(column: str, value: object, currency: str) -> str:
    return _printable(_raw_cell(column, value, currency))


def _raw_cell(column: str, value: object, currency: str) -> str:
    if value is None:
        return "-"
    if column.endswith("_minor") and type(value) is int:
        return format_amount(value, currency)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple | list):
        return " ".join(map(str, value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _table(section: Section, currency: str, max_rows: int | None = None) -> list[str]:
    headers = [c.removesuffix("_minor") for c in section.columns]
    shown = section.rows if max_rows is None else section.rows[:max_rows]
    cells = [
        [_cell(c, getattr(r, c), _currency_of(r, currency)) for c in section.columns] for r in shown
    ]
    if not cells:
        return ["  (none)"]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    numeric = [all(_is_number(row[i]) for row in cells) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return (
            "  "
            + "  ".join(
                v.rjust(w) if num else v.ljust(w)
                for v, w, num in zip(values, widths, numeric, strict=True)
            ).rstrip()
        )

    lines = [line(headers), "  " + "  ".join("-" * w for w in widths), *(line(r) for r in cells)]
    if len(shown) < len(section.rows):
        lines.append(f"  ... and {len(section.rows) - len(shown):,} more rows")
    return lines


def _currency_of(row: object, default: str) -> str:
    """A row with a ``currency`` of its own has its amounts in that currency."""
    code = getattr(row, "currency", None)
    return code if isinstance(code, str) and code in CURRENCIES else default


def _is_number(text: str) -> bool:
    return text == "-" or text.replace(",", "").replace(".", "").lstrip("-").isdigit()


def check_day(day: object, name: str = "day") -> date:
    """A business day: a ``date`` (not a ``datetime``, whose time would be ignored)."""
    if not isinstance(day, date) or isinstance(day, datetime):
        raise InvalidCommand(f"{name} is a datetime.date (a business day), not {day!r}")
    if not date.min < day < date.max - timedelta(days=1):
        raise InvalidCommand(f"{name} {day} is too close to the ends of the calendar")
    return day


def check_period(start: object, end: object) -> tuple[date, date]:
    """A period of business days, ``start`` to ``end`` inclusive."""
    first, last = check_day(start, "start"), check_day(end, "end")
    if first > last:
        raise InvalidCommand(f"the period starts {first}, after its end {last}")
    return first, last


def check_runner(runner: object, needs: tuple[str, ...] = ()) -> Runner:
    """``runner`` if it is a Runner that folds every projection in ``needs`` (the tables
    the report reads)."""
    if not isinstance(runner, Runner):
        raise InvalidCommand(f"a report reads a projections.runner.Runner, not {runner!r}")
    missing = sorted(set(needs) - {p.name for p in runner.projections})
    if missing:
        raise InvalidCommand(f"this report reads the projections {missing}; the runner folds none")
    return runner


Period = Literal["day", "range"]


@attrs.frozen
class ReportSpec:
    """A report as ``satang report NAME`` knows it: whether it is as of a day
    (``--date``) or for a period (``--from``/``--to``), and where its function lives
    (``module:function``, imported when first used)."""

    name: str
    period: Period
    target: str
    summary: str

    def load(self) -> Callable[..., Report]:
        module, function = self.target.split(":")
        made: Callable[..., Report] = getattr(importlib.import_module(module), function)
        return made
