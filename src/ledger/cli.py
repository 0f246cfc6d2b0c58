"""The ``satang`` command line: read a ledger file, audit it, measure it."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import click

from ledger.audit import Report as VerifyReport
from ledger.audit import parse_anchor
from ledger.audit import verify as verify_ledger
from ledger.book import Ledger
from ledger.demo import DEMO_MARK, DemoSize, day_ticks, run_demo
from ledger.errors import LedgerError
from ledger.export import EXPORTERS, event_record
from ledger.flows.chart import Chart
from ledger.money import format_amount, parse_amount
from ledger.store.base import RecordedEvent
from ledger.store.postgres import is_dsn
from projections.reports import REPORTS
from projections.runner import ReadModelsStale, Runner

PROGRESS_FROM_EVENTS = 10_000
"""A verify or a catch-up longer than this shows a progress bar (on stderr)."""
DEMO_REPORT_ROWS = 12
"""``satang demo`` prints this many rows of each report section; ``satang report`` all."""

_reads = click.option(
    "--reads",
    type=click.Path(dir_okay=False),
    default=None,
    help="Keep the read models in this file (':memory:' for none) instead of the ledger's.",
)


class _LedgerTarget(click.ParamType[str]):
    """An existing SQLite file, or a ``postgresql://`` DSN (checked when it is opened)."""

    name = "FILE|DSN"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if is_dsn(value):
            return str(value)
        return str(click.Path(exists=True, dir_okay=False).convert(value, param, ctx))


_db = click.option(
    "--db",
    "db",
    required=True,
    type=_LedgerTarget(),
    help="The ledger: its SQLite file, or a postgresql:// DSN.",
)


@click.group()
@click.version_option(package_name="satang")
def main() -> None:
    """Satang: an event-sourced, double-entry ledger for e-wallet backends."""


@contextmanager
def _ledger(db: str, timezone: str = "Asia/Bangkok") -> Iterator[Ledger]:
    """The ledger in ``db`` (never a new one); any LedgerError becomes a one-line message."""
    try:
        with Ledger.open(db, create=False, timezone=timezone) as book:
            yield book
    except LedgerError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@_db
@click.argument("account")
@click.option("--as-of", help="A seq (integer) or an ISO-8601 effective time with offset.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def balance(db: str, account: str, as_of: str | None, as_json: bool) -> None:
    """Print ACCOUNT's balance now or as of a seq or effective time."""
    point: int | datetime | None = None
    if as_of is not None:
        try:
            point = (
                int(as_of) if as_of.isascii() and as_of.isdigit() else datetime.fromisoformat(as_of)
            )
        except ValueError as exc:
            raise click.BadParameter(f"{as_of!r} is neither a seq nor an ISO time") from exc
    with _ledger(db) as book:
        b = book.balance(account, as_of=point)
    if as_json:
        click.echo(json.dumps(attrs.asdict(b)))
        return
    click.echo(
        f"{b.account}  {format_amount(b.balance, b.currency)} {b.currency}"
        f"  (available {format_amount(b.available, b.currency)})"
    )


def _event_line(rec: RecordedEvent) -> str:
    return json.dumps(event_record(rec), separators=(",", ":"))


@main.command()
@_db
@click.option(
    "--after",
    type=click.IntRange(0, 2**63 - 1),
    default=0,
    show_default=True,
    help="Print events after this seq.",
)
@click.option(
    "--limit", type=click.IntRange(0, None), default=None, help="Print at most this many."
)
@click.option(
    "--tail",
    type=click.IntRange(1, 1_000_000),
    default=None,
    help="Only the last N events of the log (before the filters).",
)
@click.option("--type", "types", multiple=True, help="Only events of this type (repeatable).")
@click.option("--stream", default=None, help="Only events of streams starting with this.")
@click.option("--command", "command_id", default=None, help="Only the events of this command.")
def events(
    db: str,
    after: int,
    limit: int | None,
    tail: int | None,
    types: tuple[str, ...],
    stream: str | None,
    command_id: str | None,
) -> None:
    """Print the log as JSON lines, one event a line: all of it, after a seq, the tail,
    or the events of some types, streams or one command."""
    from ledger.events import EVENT_TYPES

    unknown = sorted(set(types) - set(EVENT_TYPES))
    if unknown:
        raise click.BadParameter(
            f"no event type {unknown}; the types are {sorted(EVENT_TYPES)}", param_hint="--type"
        )
    printed = 0
    with _ledger(db) as book:
        start = after if tail is None else max(after, book.head()[0] - tail)
        for rec in book.events(after=start):
            if limit is not None and printed >= limit:
                break
            if types and rec.type not in types:
                continue
            if stream is not None and not rec.stream.startswith(stream):
                continue
            if command_id is not None and rec.command_id != command_id:
                continue
            click.echo(_event_line(rec))
            printed += 1


@main.command()
@_db
def head(db: str) -> None:
    """Print the last seq and its hash: an anchor to record elsewhere for later audits."""
    with _ledger(db) as book:
        seq, digest = book.head()
    click.echo(f"{seq}:{digest}")


@main.command()
@_db
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--anchor",
    default=None,
    help="SEQ:HASH printed by `satang head` earlier: the log must still hold that event.",
)
def verify(db: str, as_json: bool, anchor: str | None) -> None:
    """Walk the hash chain, rebuild balances and every read model from the log, check
    the invariants."""
    point = None
    if anchor is not None:
        try:
            point = parse_anchor(anchor)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--anchor") from exc
    with _ledger(db) as book:
        report = _verified(book, point)
    _print_verification(report, as_json)
    sys.exit(0 if report.ok else 1)


@main.command()
@click.option(
    "--from",
    "source",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="The SQLite ledger to copy.",
)
@click.option("--to", "target", required=True, help="A postgresql:// DSN of an empty schema.")
@click.option("--json", "as_json", is_flag=True, help="Print the verify report as JSON.")
def migrate(source: str, target: str, as_json: bool) -> None:
    """Copy a SQLite ledger into PostgreSQL, row for row, then verify the copy with the
    source's head as anchor: the same chain, ending at the same hash."""
    if not is_dsn(target):
        raise click.BadParameter("give a postgresql:// DSN", param_hint="--to")
    from ledger.store.postgres import PostgresStore
    from ledger.store.sql import SqlStore

    with _ledger(source) as src:
        try:
            with Ledger.open(target) as dst:
                store, from_store = dst.store, src.store
                assert isinstance(store, PostgresStore) and isinstance(from_store, SqlStore)
                with _progress(src.head()[0], "copying the log") as step:
                    seq, digest = store.load(from_store, step)
                click.echo(f"copied {seq:,} events from {source} to {store.path}")
                report = _verified(dst, (seq, digest.hex()))
        except LedgerError as exc:
            raise click.ClickException(str(exc)) from exc
    _print_verification(report, as_json)
    sys.exit(0 if report.ok else 1)


@contextmanager
def _progress(length: int, label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A ``progress(done, total)`` callback drawing a bar on stderr, or None when
    ``length`` is too short to be worth one."""
    if length < PROGRESS_FROM_EVENTS:
        yield None
        return
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        shown = [0]

        def step(done: int, total: int) -> None:
            bar.update(done - shown[0])
            shown[0] = done

        yield step


def _verified(book: Ledger, anchor: tuple[int, str] | None = None) -> VerifyReport:
    """``verify`` the ledger, with a progress bar on stderr when its log is long."""
    with _progress(book.head()[0], "verifying the log") as step:
        return verify_ledger(book, anchor=anchor, progress=step)


def _print_verification(report: VerifyReport, as_json: bool) -> None:
    if as_json:
        click.echo(
            json.dumps(
                {
                    "events_checked": report.events_checked,
                    "head_seq": report.head_seq,
                    "head_hash": report.head_hash,
                    "findings": [
                        {"check": f.check, "seq": f.seq, "detail": f.detail}
                        for f in report.findings
                    ],
                }
            )
        )
        return
    click.echo(f"events checked: {report.events_checked}")
    click.echo(f"head: {report.head_seq}:{report.head_hash}")
    for f in report.findings:
        click.echo(f"FINDING {f.check} at seq {f.seq}: {f.detail}")
    click.echo("ok" if report.ok else f"{len(report.findings)} finding(s)")


@main.command()
@click.option("--quick", is_flag=True, help="A smaller run (a few minutes, not many).")
@click.option("--dir", "directory", default=None, help="Where to put the benchmark files.")
@click.option(
    "--suite",
    type=click.Choice(["all", "wallet", "scale", "peers", "cod", "loans", "reads", "scaling"]),
    multiple=True,
    default=["all"],
    show_default=True,
    help="What to run (repeatable): the write path, reads as the log grows, the peers, "
    "the COD and loan flows, the read models, SQLite beside PostgreSQL.",
)
@click.option(
    "--events-max",
    type=click.IntRange(10_000),
    default=1_000_000,
    show_default=True,
    help="The largest log of the scale suite (10000000 for the 10M point).",
)
@click.option(
    "--dsn",
    default=None,
    help="The scaling suite's PostgreSQL server (a new schema per case); default: a "
    "throwaway cluster started for the run.",
)
def bench(
    quick: bool, directory: str | None, suite: tuple[str, ...], events_max: int, dsn: str | None
) -> None:
    """Measure the write path, replay, verify and reads at several log sizes on the
    standard wallet mix, the same mix on the peers, the COD and loan flows, the read
    models, and SQLite beside PostgreSQL; print every figure with the machine and
    versions, then the ratios."""
    from benchmarks import SUITES, run

    if dsn is not None and not is_dsn(dsn):
        raise click.BadParameter("give a postgresql:// DSN", param_hint="--dsn")
    suites = SUITES if "all" in suite else tuple(suite)
    run(
        click.echo,
        quick=quick,
        directory=directory,
        suites=suites,
        events_max=events_max,
        dsn=dsn,
    )


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a day (YYYY-MM-DD)", param_hint=option) from exc


def _catch_up(runner: Runner) -> None:
    """Fold what the read models lack, with a progress bar on stderr when that is long."""
    head = (
        runner.book.head()[0] if runner.until is None else min(runner.until, runner.book.head()[0])
    )
    with _progress(head - runner.seq, "folding the log into the read models") as step:
        runner.catch_up(progress=step)


@main.command()
@click.argument("name", type=click.Choice(list(REPORTS)))
@_db
@click.option("--date", "day", help="The day (YYYY-MM-DD): as of its end, or a one-day period.")
@click.option("--from", "start", help="First day of the period (YYYY-MM-DD).")
@click.option("--to", "end", help="Last day of the period (YYYY-MM-DD), inclusive.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.option("--equity", help="safeguarding: the issuer's equity (e.g. 1500000.00).")
@click.option(
    "--timezone",
    default="Asia/Bangkok",
    show_default=True,
    help="Where business days start and end.",
)
@click.option(
    "--known-at",
    type=click.IntRange(0, 2**63 - 1),
    default=None,
    help="Only what the log held up to this seq (a report's log_seq): the report as filed.",
)
@_reads
def report(
    name: str,
    db: str,
    day: str | None,
    start: str | None,
    end: str | None,
    fmt: str,
    equity: str | None,
    timezone: str,
    known_at: int | None,
    reads: str | None,
) -> None:
    """Print report NAME as of --date, or for --from/--to; exit 1 if it has a finding."""
    spec = REPORTS[name]
    on, first, last = _day(day, "--date"), _day(start, "--from"), _day(end, "--to")
    options: dict[str, object] = {}
    if equity is not None:
        if name != "safeguarding":
            raise click.UsageError("--equity is an option of the safeguarding report")
        try:
            # the CLI opens ledgers with the default chart: its currency is the chart's
            options["equity_minor"] = parse_amount(equity, Chart().currency)
        except LedgerError as exc:
            raise click.BadParameter(str(exc), param_hint="--equity") from exc
    if spec.period == "day":
        if on is None or first is not None or last is not None:
            raise click.UsageError(f"report {name} is as of one day: give --date")
        args: tuple[date, ...] = (on,)
    elif on is not None and first is None and last is None:
        args = (on, on)
    elif on is None and first is not None and last is not None:
        args = (first, last)
    else:
        raise click.UsageError(f"report {name} covers a period: give --from and --to, or --date")
    with _ledger(db, timezone) as book:
        if known_at is not None and known_at > book.head()[0]:
            raise click.BadParameter(
                f"the log ends at seq {book.head()[0]}", param_hint="--known-at"
            )
        try:
            if known_at is not None and reads is None:
                reads = ":memory:"  # the file's own read models are past it
            with Runner(book, reads, until=known_at) as runner:
                _catch_up(runner)
                made = spec.load()(runner, *args, **options)
        except ReadModelsStale as exc:
            raise click.ClickException(
                f"{exc} (here: --reads :memory: folds them afresh, or delete the file's "
                "proj_* tables)"
            ) from exc
        except LedgerError as exc:
            raise click.ClickException(str(exc)) from exc
    if fmt == "json":
        click.echo(made.to_json())
    elif fmt == "csv":
        click.echo(made.to_csv(), nl=False)
    else:
        click.echo(made.to_table(), nl=False)
    for finding in made.findings:
        if fmt != "table":
            click.echo(f"FINDING: {finding}", err=True)
    sys.exit(0 if made.ok else 1)


def _seq_until(book: Ledger, until: str) -> int:
    """``--until``: a seq, or an ISO-8601 time with offset (the last event recorded at
    or before it)."""
    if until.isascii() and until.isdigit():
        seq = int(until)
        if seq > book.head()[0]:
            raise click.BadParameter(f"the log ends at seq {book.head()[0]}", param_hint="--until")
        return seq
    try:
        when = datetime.fromisoformat(until)
    except ValueError as exc:
        raise click.BadParameter(f"{until!r} is neither a seq nor an ISO time") from exc
    if when.tzinfo is None:
        raise click.BadParameter("give the time with its offset, e.g. +07:00", param_hint="--until")
    last = 0
    for rec in book.events():  # recorded_at never goes back along the log (verify checks it)
        if rec.recorded_at > when:
            break
        last = rec.seq
    return last


@main.command()
@_db
@click.option("--until", required=True, help="A seq, or an ISO-8601 time with offset.")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="The new database to write (it must not exist).",
)
def replay(db: str, until: str, out: str) -> None:
    """Materialise every read model (accounts with their balances, postings, statements,
    holds, COD orders, loans) as the log stood at --until into a new database."""
    import os

    if os.path.exists(out):
        raise click.BadParameter(f"{out} exists; give a new file", param_hint="--out")
    with _ledger(db) as book:
        seq = _seq_until(book, until)
        try:
            with Runner(book, out, until=seq) as runner:
                runner.catch_up()
        except LedgerError as exc:
            raise click.ClickException(str(exc)) from exc
        head = book.head()[0]
    click.echo(f"replayed seq 1..{seq} of {head} into {out}")


@main.command()
@_db
@click.argument("account")
@click.option(
    "--order",
    type=click.Choice(["recorded", "effective"]),
    default="recorded",
    show_default=True,
    help="Log order, or by value date (effective time).",
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--after", default=None, help="The next_after a previous page printed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines, one a line.")
@_reads
def statement(
    db: str,
    account: str,
    order: str,
    limit: int,
    after: str | None,
    as_json: bool,
    reads: str | None,
) -> None:
    """Print one page of ACCOUNT's statement with its running balance."""
    from projections.statements import statement as statement_page

    cursor = None
    if after is not None:
        try:
            a, b, c = (int(x) for x in after.split(":"))
        except ValueError as exc:
            raise click.BadParameter("--after is N:N:N as a page printed it") from exc
        cursor = (a, b, c)
    with _ledger(db) as book:
        try:
            with Runner(book, reads) as runner:
                _catch_up(runner)
                page = statement_page(
                    runner.db,
                    account,
                    order=order,  # type: ignore[arg-type]
                    after=cursor,
                    limit=limit,
                )
        except LedgerError as exc:
            raise click.ClickException(str(exc)) from exc
    code = page.currency
    for line in page.lines:
        if as_json:
            click.echo(
                json.dumps(
                    {
                        **attrs.asdict(line),
                        "effective_at": line.effective_at.isoformat(),
                        "recorded_at": line.recorded_at.isoformat(),
                    }
                )
            )
        else:
            click.echo(
                f"{line.seq:>8}  {line.effective_at.isoformat()}  {line.type:<22}"
                f" {format_amount(line.signed_minor, code):>14}"
                f" {format_amount(line.balance_minor, code):>14}"
            )
    if page.next_after is not None:
        nxt = ":".join(map(str, page.next_after))
        click.echo(f"next page: --after {nxt}", err=True)


@main.command()
@_db
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(EXPORTERS)),
    required=True,
    help="jsonl: every event; csv: every posting leg; beancount: a plain-text ledger.",
)
@click.option(
    "--timezone",
    default="Asia/Bangkok",
    show_default=True,
    help="Where business days start (beancount dates).",
)
def export(db: str, fmt: str, timezone: str) -> None:
    """Write the whole log to stdout as JSON lines, CSV postings or a beancount ledger."""
    with _ledger(db, timezone) as book, book.snapshot():
        for chunk in EXPORTERS[fmt](book):
            click.echo(chunk, nl=False)


def _refuse_unless_demo(db: str) -> None:
    """``--overwrite`` replaces a ledger the demo wrote, never another file."""
    try:
        with Ledger.open(db, create=False) as book:
            written = bool(book.store.read_streams(f"entry:{DEMO_MARK}"))
    except LedgerError as exc:
        raise click.UsageError(f"{db} is not a ledger the demo wrote ({exc}); kept") from exc
    if not written:
        raise click.UsageError(f"{db} is a ledger the demo did not write; kept")


@main.command()
@click.option(
    "--db",
    default="satang-demo.db",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The new ledger file to write.",
)
@click.option("--overwrite", is_flag=True, help="Delete --db (and its -wal, -shm) first.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seeds every draw.")
@click.option("--date", "day", default="2026-12-01", show_default=True, help="The day.")
@click.option(
    "--customers", type=click.IntRange(40), default=DemoSize().customers, show_default=True
)
@click.option(
    "--merchants", type=click.IntRange(1), default=DemoSize().merchants, show_default=True
)
@click.option("--agents", type=click.IntRange(3), default=DemoSize().agents, show_default=True)
@click.option("--couriers", type=click.IntRange(1), default=DemoSize().couriers, show_default=True)
@click.option(
    "--cod-orders",
    type=click.IntRange(10),
    default=DemoSize().cod_orders_per_day,
    show_default=True,
    help="COD parcels delivered a day.",
)
@click.option("--loans", type=click.IntRange(10), default=DemoSize().loans, show_default=True)
@click.option("--timezone", default="Asia/Bangkok", show_default=True, help="The ledger's zone.")
def demo(
    db: str,
    overwrite: bool,
    seed: int,
    day: str,
    customers: int,
    merchants: int,
    agents: int,
    couriers: int,
    cod_orders: int,
    loans: int,
    timezone: str,
) -> None:
    """Write a seeded, realistic day of wallet, COD and loan activity into a new ledger,
    print the day's reports, then verify it; exit 1 on any finding."""
    on = _day(day, "--date")
    assert on is not None
    if not date(1971, 1, 1) <= on <= date(9998, 12, 31):
        raise click.BadParameter(f"{day} is outside 1971..9998", param_hint="--date")
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise click.BadParameter(
            f"unknown time zone {timezone!r}", param_hint="--timezone"
        ) from exc
    try:
        size = DemoSize(
            customers=customers,
            merchants=merchants,
            agents=agents,
            couriers=couriers,
            cod_orders_per_day=cod_orders,
            loans=loans,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    path = Path(db)
    if db == ":memory:":
        raise click.BadParameter("the demo writes a file", param_hint="--db")
    if path.exists() and path.stat().st_size:
        if not overwrite:
            raise click.UsageError(f"{db} exists: give --overwrite to replace it, or another --db")
        _refuse_unless_demo(db)
        for name in (db, f"{db}-wal", f"{db}-shm"):
            Path(name).unlink(missing_ok=True)
    click.echo(
        f"satang demo: {on}, seed {seed}: {customers:,} customers, {merchants:,} merchants, "
        f"{agents:,} agents, {couriers:,} couriers, {cod_orders:,} COD orders a day, "
        f"{loans:,} loans -> {db}"
    )
    with click.progressbar(
        length=len(day_ticks(on, zone)), label=f"{on}", file=sys.stderr, item_show_func=lambda t: t
    ) as bar:

        def step(when: datetime, done: int, total: int) -> None:
            bar.update(1, when.strftime("%H:%M"))

        try:
            outcome = run_demo(path, seed=seed, size=size, day=on, timezone=timezone, progress=step)
        except BaseException as exc:
            for name in (db, f"{db}-wal", f"{db}-shm"):  # the demo's own half-written file
                Path(name).unlink(missing_ok=True)
            if isinstance(exc, LedgerError):
                raise click.ClickException(str(exc)) from exc
            raise
    history = sum(outcome.history.values())
    submitted = sum(outcome.submitted.values())
    accepted = sum(outcome.accepted.values())
    with _ledger(db, timezone) as book:
        events = book.head()[0]
        click.echo(
            f"{history:,} commands accepted before the day (accounts, loans, nine days of COD), "
            f"{submitted:,} on {on} ({accepted:,} accepted): {events:,} events "
            f"in {outcome.seconds:.1f} s"
        )
        click.echo(f"\n  {'the day':<26} {'submitted':>10} {'accepted':>10}")
        for kind, count in sorted(outcome.submitted.items()):
            click.echo(f"  {kind:<26} {count:>10,} {outcome.accepted[kind]:>10,}")
        for code, count in outcome.rejected.most_common():
            click.echo(f"  rejected as {code}: {count:,}")
        findings = 0
        with Runner(book) as runner:
            _catch_up(runner)
            for name, spec in REPORTS.items():
                args = (on,) if spec.period == "day" else (on, on)
                made = spec.load()(runner, *args)
                click.echo(f"\n== satang report {name} --db {db} --date {on}")
                click.echo(made.to_table(max_rows=DEMO_REPORT_ROWS), nl=False)
                findings += len(made.findings)
        click.echo(f"\n== satang verify --db {db}")
        report = _verified(book)
    _print_verification(report, as_json=False)
    findings += len(report.findings)
    sys.exit(0 if findings == 0 else 1)
