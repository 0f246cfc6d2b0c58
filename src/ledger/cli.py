"""The ``satang`` command line: read a ledger file, audit it, measure it.

Every failure is one line on stderr and a non-zero exit status, never a traceback: a bad
argument is a usage error (exit 2), a ledger that cannot be read or a full device is
exit 1, a closed pipe (``satang events | head -1``) ends quietly. Verbs that only read
open the ledger read-only; verbs whose output depends on business days read them in the
zone the ledger recorded (docs/cli.md).
"""

from __future__ import annotations

import csv
import difflib
import errno
import json
import os
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import click

from ledger.accounts import Balance
from ledger.audit import Report as VerifyReport
from ledger.audit import parse_anchor
from ledger.audit import verify as verify_ledger
from ledger.book import DEFAULT_TIMEZONE, Ledger
from ledger.chart import Chart
from ledger.demo import DEMO_MARK, DemoSize, day_ticks, run_demo
from ledger.errors import LedgerError, shown
from ledger.export import EXPORTERS, event_record
from ledger.keys import MasterKey
from ledger.money import format_amount, parse_amount
from ledger.results import Accepted
from ledger.store.base import RecordedEvent
from ledger.store.postgres import URL_SCHEMES, dsn_problem, is_dsn, mask_dsn, scrub
from ledger.store.sqlite import is_readonly_copy
from ledger.store.writelock import lock_path
from projections.reports import REPORTS
from projections.runner import ReadModelsStale, Runner

PROGRESS_FROM_EVENTS = 10_000
"""A verify or a catch-up longer than this shows a progress bar (on stderr)."""
DEMO_REPORT_ROWS = 12
"""``satang demo`` prints this many rows of each report section; ``satang report`` all."""
MESSAGE_MAX = 240
"""Characters of an error message printed at most: every failure is one short line."""
SEQ_MAX = 2**63 - 1
EXIT_USAGE = 2
"""A bad argument: nothing was read or written."""
TRACEBACK_ENV = "SATANG_TRACEBACK"
"""Set to 1, an unexpected error shows its traceback instead of one line."""
_OUTPUT_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EPIPE, errno.EIO, errno.EFBIG, errno.EDQUOT, errno.EBADF}
)


# --- one line, never a traceback ------------------------------------------------------


def one_line(text: str) -> str:
    """``text`` as one printable line of at most :data:`MESSAGE_MAX` characters: blanks
    and line breaks run together, other control characters escaped, the rest cut."""
    flat = " ".join(text[: MESSAGE_MAX * 8].split())
    flat = "".join(c if c.isprintable() else repr(c)[1:-1] for c in flat)
    if len(flat) > MESSAGE_MAX or len(text) > MESSAGE_MAX * 8:
        return f"{flat[: MESSAGE_MAX - 1]}…"
    return flat


def _say(line: str) -> None:
    """One line on stderr; a stderr that cannot take it is not worth a second failure."""
    with suppress(OSError, ValueError):
        click.echo(line, err=True)


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null, so what is still buffered for a full or closed stdout
    is not written again (with a second error) when the interpreter exits."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(fd, sys.stdout.fileno())
        finally:
            os.close(fd)
    except (OSError, ValueError, AttributeError):  # not a real file (tests), or closed
        pass


def _os_error(exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    if exc.filename is None and exc.errno in _OUTPUT_ERRNOS:
        return f"cannot write the output: {reason}"
    if exc.filename is not None:
        return f"{reason}: {shown(str(exc.filename))}"
    return reason


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    _say(one_line(str(code)))
    return 1


class _Verbs(click.Group):
    """The ``satang`` group: runs a verb and turns whatever escapes it into one line."""

    def main(  # type: ignore[override]
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the verb; in standalone mode exit with its status, one line on stderr
        for any failure (``SATANG_TRACEBACK=1`` shows an unexpected error's traceback)."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        sys.exit(
            self._run(
                lambda: super(_Verbs, self).main(args, prog_name, complete_var, False, **extra)
            )
        )

    def _run(self, call: Callable[[], Any]) -> int:
        try:
            outcome = call()
            code = outcome if type(outcome) is int else 0
        except SystemExit as exc:
            code = _exit_status(exc.code)
        except click.UsageError as exc:
            where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            _say(f"Error: {one_line(exc.format_message())}{where}")
            code = exc.exit_code
        except click.ClickException as exc:
            _say(f"Error: {one_line(exc.format_message())}")
            code = exc.exit_code
        except (click.Abort, KeyboardInterrupt, EOFError):
            _say("Aborted!")
            code = 1
        except OSError as exc:
            if exc.errno != errno.EPIPE:  # a closed pipe is the reader's choice: quiet
                _say(f"Error: {one_line(_os_error(exc))}")
            _silence_stdout()
            return 1
        except LedgerError as exc:
            _say(f"Error: {one_line(str(exc))}")
            code = 1
        except Exception as exc:
            if os.environ.get(TRACEBACK_ENV) == "1":
                raise
            _say(
                f"Error: unexpected {type(exc).__name__}: {one_line(str(exc))[:120]} "
                f"(a bug in satang: {TRACEBACK_ENV}=1 shows where)"
            )
            code = 1
        if sys.stdout is None:  # started with fd 1 closed: whatever was printed is lost
            _say("Error: cannot write the output: stdout is closed")
            return code or 1
        try:
            sys.stdout.flush()
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                _say(f"Error: {one_line(_os_error(exc))}")
            _silence_stdout()
            return code or 1
        except ValueError:  # stdout closed under us
            return code or 1
        return code


# --- arguments ------------------------------------------------------------------------


def shown_target(target: str) -> str:
    """A ledger target for a message: a DSN with its passwords masked, cut to a few words."""
    return shown(mask_dsn(target) if is_dsn(target) else target)


class _LedgerTarget(click.ParamType[str]):
    """An existing ledger file, or a PostgreSQL DSN: a ``postgresql://`` URL or libpq's
    keyword form (``host=db1 dbname=ledger user=satang``), checked when it is opened."""

    name = "FILE|DSN"

    def __init__(self, *, dsn_only: bool = False) -> None:
        self.dsn_only = dsn_only
        if dsn_only:
            self.name = "DSN"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if "\x00" in text:
            self.fail("a ledger's file name or DSN holds no NUL byte", param, ctx)
        if self.dsn_only and not is_dsn(text):
            self.fail(
                "give a PostgreSQL DSN: postgresql://... or 'host=... dbname=...'", param, ctx
            )
        if is_dsn(text):
            problem = dsn_problem(text)
            if problem is not None:
                self.fail(problem, param, ctx)
            return text
        _existing_file(text, lambda m: self.fail(m, param, ctx))
        return text


def _existing_file(text: str, fail: Callable[[str], None]) -> None:
    try:
        mode = os.stat(text).st_mode
    except FileNotFoundError:
        fail(f"no file {shown(text)}")
        return
    except (OSError, ValueError) as exc:
        fail(f"{shown(text)}: {getattr(exc, 'strerror', None) or exc}")
        return
    if stat.S_ISDIR(mode):
        fail(f"{shown(text)} is a directory, not a ledger file")


class _FilePath(click.ParamType[str]):
    """A file to read (``exists=True``) or to write: never a directory or a NUL byte."""

    name = "FILE"

    def __init__(self, *, exists: bool = False, memory: bool = False) -> None:
        self.exists = exists
        self.memory = memory

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if "\x00" in text:
            self.fail("a file name holds no NUL byte", param, ctx)
        if not text:
            self.fail("give a file name", param, ctx)
        if self.memory and text == ":memory:":
            return text
        if self.exists:
            _existing_file(text, lambda m: self.fail(m, param, ctx))
        elif os.path.isdir(text):
            self.fail(f"{shown(text)} is a directory; give a file", param, ctx)
        return text


class _Folder(click.ParamType[str]):
    """A folder to write into (made if missing): never a file or a NUL byte."""

    name = "DIR"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if "\x00" in text or not text:
            self.fail("give a folder name (without a NUL byte)", param, ctx)
        if os.path.lexists(text) and not os.path.isdir(text):
            self.fail(f"{shown(text)} is not a folder", param, ctx)
        return text


class _Zone(click.ParamType[str]):
    """An IANA time zone name (``Asia/Bangkok``)."""

    name = "ZONE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        try:
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            self.fail(
                f"unknown time zone {shown(text)}; give an IANA name such as 'Asia/Bangkok'",
                param,
                ctx,
            )
        return text


def _timezone_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option("--timezone", type=_Zone(), default=None, help=help_text)


_reads = click.option(
    "--reads",
    type=_FilePath(memory=True),
    default=None,
    help="Keep the read models in this file (':memory:' for none) instead of the ledger's "
    "(in memory when the ledger file is read-only).",
)

_db = click.option(
    "--db",
    "db",
    required=True,
    type=_LedgerTarget(),
    help="The ledger: its SQLite file, or a PostgreSQL DSN (postgresql://... or "
    "'host=... dbname=...').",
)


_master_key_option = click.option(
    "--master-key-file",
    default=None,
    help="The master key (64 hex digits); default: the SATANG_MASTER_KEY variable.",
)


def _master_key(path: str | None) -> MasterKey:
    """The master key from ``--master-key-file``, else from ``SATANG_MASTER_KEY``."""
    try:
        return MasterKey.from_file(path) if path is not None else MasterKey.from_env()
    except LedgerError as exc:
        raise click.ClickException(
            f"{one_line(str(exc))} (give --master-key-file, or set SATANG_MASTER_KEY)"
        ) from exc


@click.group(cls=_Verbs)
@click.version_option(package_name="satang")
def main() -> None:
    """Satang: an event-sourced, double-entry ledger for e-wallet backends."""


@contextmanager
def _ledger(
    db: str, *, readonly: bool = True, master_key: MasterKey | None = None
) -> Iterator[Ledger]:
    """The ledger in ``db`` (never a new one; read-only unless told), in the zone it
    recorded; any LedgerError becomes a one-line message without a password in it."""
    try:
        with Ledger.open(db, create=False, readonly=readonly, master_key=master_key) as book:
            yield book
    except LedgerError as exc:
        raise click.ClickException(scrub(str(exc), db)) from exc


def _days_in(book: Ledger, db: str, asked: str | None) -> tuple[str | None, str | None]:
    """The zone to read business days in when it is not the one the ledger recorded
    (``asked``, ``--timezone``; None: the recorded one), and the note to print first
    then. A file that records no zone needs ``--timezone``: a usage error says how."""
    recorded = book.recorded_timezone
    if asked is None:
        if recorded is None:
            raise click.UsageError(
                "this ledger records no time zone, and this output depends on its days: "
                "give --timezone ZONE, or record its zone once with "
                f"`satang timezone --set ZONE --db {shown_target(db)}`"
            )
        return None, None
    if asked == recorded:
        return None, None
    if recorded is None:
        return asked, f"times in {asked}; this ledger records no zone"
    return asked, f"times in {asked}; this ledger's zone is {recorded}"


def _reads_for(book: Ledger, reads: str | None) -> str | None:
    """Where to fold the read models: ``--reads``, else the ledger's own file if it may
    be written, else memory (said on stderr). A DSN's go to memory (the runner's own
    default)."""
    if reads is not None:
        return reads
    path = getattr(book.store, "path", "")
    if is_dsn(path) or not isinstance(path, str) or not os.path.isfile(path):
        return None
    folder = os.path.dirname(os.path.abspath(path))
    if is_readonly_copy(path) or not (os.access(path, os.W_OK) and os.access(folder, os.W_OK)):
        _say(
            "the ledger file is read-only: its read models are folded in memory "
            "(--reads FILE keeps them)"
        )
        return ":memory:"
    return path


# --- the verbs that read ----------------------------------------------------------------


def _balance_text(b: Balance) -> str:
    return (
        f"{b.account}  {format_amount(b.balance, b.currency)} {b.currency}"
        f"  (available {format_amount(b.available, b.currency)})"
    )


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
            raise click.BadParameter(
                f"{shown(as_of)} is neither a seq nor an ISO time", param_hint="--as-of"
            ) from exc
        if isinstance(point, int) and point > SEQ_MAX:
            raise click.BadParameter(f"a seq is at most {SEQ_MAX}", param_hint="--as-of")
    with _ledger(db) as book:
        try:
            b = book.balance(account, as_of=point)
        except LedgerError as exc:
            raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(attrs.asdict(b)))
        return
    click.echo(_balance_text(b))


def _event_line(rec: RecordedEvent) -> str:
    return json.dumps(event_record(rec), separators=(",", ":"))


@main.command()
@_db
@click.option(
    "--after",
    type=click.IntRange(0, SEQ_MAX),
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
        near = difflib.get_close_matches(unknown[0][:64], list(EVENT_TYPES), n=3)
        raise click.BadParameter(
            f"no event type {shown(unknown[0])}"
            + (f"; did you mean {', '.join(near)}?" if near else "")
            + f" ({len(EVENT_TYPES)} types: docs/concepts.md)",
            param_hint="--type",
        )
    printed = 0
    with _ledger(db) as book:
        start = after if tail is None else max(after, book.head()[0] - tail)
        try:
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
        except LedgerError as exc:
            raise click.ClickException(str(exc)) from exc


@main.command()
@_db
@click.option(
    "--refusals",
    is_flag=True,
    help="Print the record of refusals' anchor, N:HASH (its last refusal), instead.",
)
def head(db: str, refusals: bool) -> None:
    """Print the last seq and its hash: an anchor to record elsewhere for later audits."""
    with _ledger(db) as book:
        seq, digest = book.refusals_head() if refusals else book.head()
    click.echo(f"{seq}:{digest}")


@main.command()
@_db
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--anchor",
    default=None,
    help="SEQ:HASH printed by `satang head` earlier: the log must still hold that event.",
)
@click.option(
    "--refusals-anchor",
    default=None,
    help="N:HASH printed by `satang head --refusals` earlier: the record of refusals must "
    "still hold that refusal.",
)
def verify(db: str, as_json: bool, anchor: str | None, refusals_anchor: str | None) -> None:
    """Walk the hash chain, rebuild balances and every read model from the log, check
    the invariants; exit 1 on an integrity finding, 3 if every finding is a business one."""
    point = _anchor(anchor, "--anchor", "SEQ:HASH as `satang head`")
    refusals_point = _anchor(
        refusals_anchor, "--refusals-anchor", "N:HASH as `satang head --refusals`"
    )
    with _ledger(db) as book:
        try:
            report = _verified(book, point, refusals_point)
        except LedgerError as exc:
            raise click.ClickException(str(exc)) from exc
    _print_verification(report, as_json)
    sys.exit(report.exit_code)


@main.command()
@click.argument("command_id", metavar="ID")
@_db
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def result(command_id: str, db: str, as_json: bool) -> None:
    """Print the answer command ID got: accepted (its seq and the balances it left) or
    refused on the books (code, category, subject, detail); exit 1 if it has none."""
    with _ledger(db) as book:
        try:
            found = book.result(command_id)
        except LedgerError as exc:
            raise click.ClickException(str(exc)) from exc
    if found is None:
        raise click.ClickException(
            f"no result for command id {shown(command_id)}: no command with this id was "
            "decided in this ledger"
        )
    if isinstance(found, Accepted):
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "id": found.id,
                        "result": "accepted",
                        "seq": found.seq,
                        "replayed": found.replayed,
                        "balances": [attrs.asdict(b) for b in found.balances],
                    }
                )
            )
            return
        click.echo(f"{found.id}: accepted at seq {found.seq} (replayed: {found.replayed})")
        for b in found.balances:
            click.echo(f"  {_balance_text(b)}")
        return
    category = found.code.category.value
    if as_json:
        click.echo(
            json.dumps(
                {
                    "id": found.id,
                    "result": "rejected",
                    "code": found.code.value,
                    "category": category,
                    "subject": found.subject,
                    "detail": found.detail,
                    "replayed": found.replayed,
                }
            )
        )
        return
    click.echo(
        f"{found.id}: rejected {found.code.value} ({category})"
        f"{f' on {found.subject}' if found.subject else ''} (replayed: {found.replayed})"
    )
    click.echo(f"  {found.detail}")


@main.command()
@_db
@click.option(
    "--set", "zone", type=_Zone(), default=None, help="Record this zone (once, if none is)."
)
def timezone(db: str, zone: str | None) -> None:
    """Print the time zone the ledger recorded (where its business days start and end),
    or record one, once, in a file written before zones were recorded."""
    if zone is None:
        with _ledger(db) as book:
            recorded = book.recorded_timezone
        if recorded is None:
            click.echo(
                f"none recorded (days are read in {DEFAULT_TIMEZONE} unless --timezone says "
                "otherwise; record the zone with --set ZONE)"
            )
        else:
            click.echo(recorded)
        return
    if not is_dsn(db) and is_readonly_copy(db):
        raise click.ClickException(
            f"{shown(db)} is a read-only copy (no write bit on it or its folder): nothing "
            "recorded; record the zone in the ledger itself"
        )
    with _ledger(db, readonly=False) as book:
        before = book.recorded_timezone
        try:
            book.record_timezone(zone)
        except LedgerError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(zone if before == zone else f"{zone} (recorded)")


@main.command()
@click.option(
    "--from",
    "source",
    required=True,
    type=_FilePath(exists=True),
    help="The SQLite ledger to copy.",
)
@click.option(
    "--to",
    "target",
    required=True,
    type=_LedgerTarget(dsn_only=True),
    help="A PostgreSQL DSN (postgresql://... or 'host=... dbname=...') of an empty schema.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verify report as JSON.")
def migrate(source: str, target: str, as_json: bool) -> None:
    """Copy a SQLite ledger into PostgreSQL, row for row, then verify the copy with the
    source's head as anchor: the same chain, ending at the same hash."""
    from ledger.store.postgres import PostgresStore
    from ledger.store.sql import SqlStore

    with _ledger(source) as src:
        try:
            with Ledger.open(target, timezone=src.recorded_timezone) as dst:
                store, from_store = dst.store, src.store
                assert isinstance(store, PostgresStore) and isinstance(from_store, SqlStore)
                with _progress(src.head()[0], "copying the log") as step:
                    seq, digest = store.load(from_store, step)
                click.echo(f"copied {seq:,} events from {source} to {store.path}")
                report = _verified(dst, (seq, digest.hex()))
        except LedgerError as exc:
            raise click.ClickException(scrub(str(exc), target)) from exc
    _print_verification(report, as_json)
    sys.exit(report.exit_code)


@main.command()
@click.option(
    "--from", "source", required=True, type=_FilePath(exists=True), help="The ledger to copy."
)
@click.option(
    "--to", "target", required=True, type=_FilePath(), help="The new SQLite file to write."
)
@click.option(
    "--subjects",
    "subjects_file",
    required=True,
    type=_FilePath(exists=True),
    help="A CSV file of account,subject lines: the customer each account belongs to.",
)
@_master_key_option
def seal(source: str, target: str, subjects_file: str, master_key_file: str | None) -> None:
    """Copy a ledger whose personal data is plain into a new file with it sealed under
    each customer's key, then prove the copy against the old file event by event; the
    old file is left for you to destroy."""
    from ledger.seal import seal_copy

    key = _master_key(master_key_file)
    try:
        with open(subjects_file, newline="", encoding="utf-8") as file:
            rows = [r for r in csv.reader(file) if r and not r[0].startswith("#")]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise click.ClickException(f"cannot read {shown(subjects_file)}: {exc}") from exc
    if any(len(r) != 2 for r in rows):
        raise click.ClickException(f"{shown(subjects_file)}: each line is account,subject")
    subjects = {account.strip(): subject.strip() for account, subject in rows}
    try:
        report = seal_copy(source, target, subjects, key)
    except LedgerError as exc:
        raise click.ClickException(one_line(str(exc))) from exc
    click.echo(
        f"sealed {report.events:,} events of {report.commands:,} commands and "
        f"{report.refusals:,} refusals into {target}: {report.subjects:,} subjects, "
        f"{report.keyed_digests:,} digests keyed"
    )
    if report.plain_accounts:
        shown_ids = ", ".join(report.plain_accounts[:5])
        more = (
            f" and {len(report.plain_accounts) - 5:,} more"
            if len(report.plain_accounts) > 5
            else ""
        )
        click.echo(
            f"WARNING {len(report.plain_accounts):,} accounts given no subject carry personal "
            f"text, left in the clear in the copy: {shown_ids}{more}"
        )
    for problem in report.problems:
        click.echo(f"PROBLEM {problem}")
    if not report.ok:
        sys.exit(1)
    click.echo(f"proved against {source}; destroy it (and its backups) when you are ready")


@contextmanager
def _progress(length: int, label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A ``progress(done, total)`` callback drawing a bar on stderr, or None when
    ``length`` is too short to be worth one."""
    if length < PROGRESS_FROM_EVENTS:
        yield None
        return
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        drawn = [0]

        def step(done: int, total: int) -> None:
            bar.update(done - drawn[0])
            drawn[0] = done

        yield step


def _anchor(text: str | None, option: str, form: str) -> tuple[int, str] | None:
    """An anchor option's (number, hex hash), or None if it was not given."""
    if text is None:
        return None
    try:
        point = parse_anchor(text)
    except ValueError as exc:
        raise click.BadParameter(
            f"{shown(text)} is not {form} prints it", param_hint=option
        ) from exc
    if point[0] > SEQ_MAX:
        raise click.BadParameter(f"a number is at most {SEQ_MAX}", param_hint=option)
    return point


def _verified(
    book: Ledger,
    anchor: tuple[int, str] | None = None,
    refusals_anchor: tuple[int, str] | None = None,
) -> VerifyReport:
    """``verify`` the ledger, with a progress bar on stderr when its log is long."""
    with _progress(book.head()[0], "verifying the log") as step:
        return verify_ledger(book, anchor=anchor, refusals_anchor=refusals_anchor, progress=step)


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
@click.option(
    "--dir", "directory", type=_Folder(), default=None, help="Where to put the benchmark files."
)
@click.option(
    "--suite",
    type=click.Choice(
        [
            "all",
            "wallet",
            "scale",
            "peers",
            "threads",
            "cod",
            "loans",
            "reads",
            "scaling",
            "serving",
            "size",
        ]
    ),
    multiple=True,
    default=["all"],
    show_default=True,
    help="What to run (repeatable): the write path, reads as the log grows, the peers, "
    "threads sharing one Ledger, the COD and loan flows, the read models, SQLite beside "
    "PostgreSQL, serving processes, the bytes per event of the demo's file.",
)
@click.option(
    "--events-max",
    type=click.IntRange(10_000, 100_000_000),
    default=1_000_000,
    show_default=True,
    help="The largest log of the scale suite (10000000 for the 10M point).",
)
@click.option(
    "--dsn",
    default=None,
    help="The scaling suite's PostgreSQL server, a postgresql:// URL (a new schema per "
    "case); default: a throwaway cluster started for the run.",
)
def bench(
    quick: bool, directory: str | None, suite: tuple[str, ...], events_max: int, dsn: str | None
) -> None:
    """Measure the write path, replay, verify and reads at several log sizes on the
    standard wallet mix, the same mix on the peers, the COD and loan flows, the read
    models, SQLite beside PostgreSQL, serving processes on one file and the bytes of the
    demo's file by part; print every figure with the machine and versions, then the
    ratios."""
    from ledger.bench import SUITES, run

    if dsn is not None and ("\x00" in dsn or not dsn.startswith(URL_SCHEMES)):
        raise click.BadParameter(
            "give a postgresql:// URL (the suite adds a schema to it per case)",
            param_hint="--dsn",
        )
    if directory is not None and os.path.exists(directory) and not os.path.isdir(directory):
        raise click.BadParameter(f"{shown(directory)} is a file; give a folder", param_hint="--dir")
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
        raise click.BadParameter(
            f"{shown(value)} is not a day (YYYY-MM-DD)", param_hint=option
        ) from exc


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
@_timezone_option("Where business days start and end; default: the ledger's recorded zone.")
@click.option(
    "--known-at",
    type=click.IntRange(0, SEQ_MAX),
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
    timezone: str | None,
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
    with _ledger(db) as book:
        if known_at is not None and known_at > book.head()[0]:
            raise click.BadParameter(
                f"the log ends at seq {book.head()[0]}", param_hint="--known-at"
            )
        zone, note = _days_in(book, db, timezone)
        try:
            if known_at is not None and reads is None:
                reads = ":memory:"  # the file's own read models are past it
            where = _reads_for(book, reads)
            with Runner(book, where, until=known_at, timezone=zone) as runner:
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
        if note is not None:
            _say(note)  # the document names its zone; a line before it would break it
        click.echo(made.to_json())
    elif fmt == "csv":
        if note is not None:
            click.echo(f"# {note}")
        click.echo(made.to_csv(), nl=False)
    else:
        if note is not None:
            click.echo(note)
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
        raise click.BadParameter(
            f"{shown(until)} is neither a seq nor an ISO time", param_hint="--until"
        ) from exc
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
    type=_FilePath(),
    help="The new database to write (it must not exist).",
)
def replay(db: str, until: str, out: str) -> None:
    """Materialise every read model (accounts with their balances and tiers, transactions,
    holds, COD orders, loans) as the log stood at --until into a new database."""
    if os.path.lexists(out):
        raise click.BadParameter(f"{shown(out)} exists; give a new file", param_hint="--out")
    with _ledger(db) as book:
        seq = _seq_until(book, until)
        try:
            with Runner(book, out, until=seq) as runner:
                runner.catch_up()
        except LedgerError as exc:
            raise click.ClickException(str(exc)) from exc
        head = book.head()[0]
    click.echo(f"replayed seq 1..{seq} of {head} into {out}")


def _cursor(after: str) -> tuple[int, int, int]:
    """``--after N:N:N`` as a statement page printed it."""
    try:
        a, b, c = (int(x) for x in after.split(":"))
    except ValueError as exc:
        raise click.BadParameter(
            f"{shown(after)} is not N:N:N as a page printed it", param_hint="--after"
        ) from exc
    if not all(-(2**63) <= v <= SEQ_MAX for v in (a, b, c)):
        raise click.BadParameter(
            "each N of N:N:N is a 64-bit integer, as a page printed it", param_hint="--after"
        )
    return a, b, c


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
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print JSON lines, one a line (times in UTC, whatever the zone).",
)
@_timezone_option("The zone the text lines' times are shown in; default: the ledger's.")
@_reads
def statement(
    db: str,
    account: str,
    order: str,
    limit: int,
    after: str | None,
    as_json: bool,
    timezone: str | None,
    reads: str | None,
) -> None:
    """Print one page of ACCOUNT's statement with its running balance."""
    from projections.statements import statement as statement_page

    cursor = None if after is None else _cursor(after)
    with _ledger(db) as book:
        note = None
        zone = book.policy.timezone
        if not as_json:  # JSON lines carry UTC instants: no day in them
            asked, note = _days_in(book, db, timezone)
            zone = zone if asked is None else ZoneInfo(asked)
        try:
            with Runner(book, _reads_for(book, reads)) as runner:
                _catch_up(runner)
                page = statement_page(
                    runner,
                    account,
                    order=order,  # type: ignore[arg-type]
                    after=cursor,
                    limit=limit,
                )
        except LedgerError as exc:
            raise click.ClickException(str(exc)) from exc
    code = page.currency
    if note is not None:
        click.echo(note)
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
                f"{line.seq:>8}  {line.effective_at.astimezone(zone).isoformat()}"
                f"  {line.type:<22}"
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
@_timezone_option("Where business days start (beancount dates); default: the ledger's zone.")
def export(db: str, fmt: str, timezone: str | None) -> None:
    """Write the whole log to stdout as JSON lines, CSV postings or a beancount ledger."""
    with _ledger(db) as book:
        zoned, note = book, None
        if fmt == "beancount":  # jsonl and csv carry UTC instants: no day in them
            asked, note = _days_in(book, db, timezone)
            if asked is not None:  # the same store, its days read in another zone
                zoned = Ledger(
                    book.store, policy=attrs.evolve(book.policy, timezone=ZoneInfo(asked))
                )
        try:
            with book.snapshot():
                if note is not None:
                    click.echo(f"; {note}")
                for chunk in EXPORTERS[fmt](zoned):
                    click.echo(chunk, nl=False)
        except LedgerError as exc:
            raise click.ClickException(str(exc)) from exc


@main.command()
@click.argument("action", type=click.Choice(["export"]), metavar="export")
@click.argument("subject_id", metavar="SUBJECT")
@_db
@_master_key_option
def subject(action: str, subject_id: str, db: str, master_key_file: str | None) -> None:
    """export: print as JSON everything the ledger holds about SUBJECT, its personal data
    opened with the master key (the right of access): its accounts with their metadata,
    and every event naming it or one of its accounts."""
    with _ledger(db, master_key=_master_key(master_key_file)) as book:
        try:
            data = book.subject_data(subject_id)
        except LedgerError as exc:
            raise click.ClickException(one_line(str(exc))) from exc
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _demo_files(db: str) -> tuple[str, ...]:
    """The ledger file and what SQLite and the write lock keep beside it."""
    return (db, f"{db}-wal", f"{db}-shm", lock_path(db))


def _refuse_unless_demo(db: str) -> None:
    """``--overwrite`` replaces a ledger the demo wrote, never another file."""
    try:
        with Ledger.open(db, create=False, readonly=True) as book:
            written = bool(book.store.read_streams(f"entry:{DEMO_MARK}"))
    except LedgerError as exc:
        raise click.UsageError(
            f"kept {shown(db)}: not a ledger the demo wrote ({one_line(str(exc))[:100]})"
        ) from exc
    if not written:
        raise click.UsageError(f"kept {shown(db)}: a ledger the demo did not write")


@main.command()
@click.option(
    "--db",
    default="satang-demo.db",
    show_default=True,
    type=_FilePath(),
    help="The new ledger file to write.",
)
@click.option("--overwrite", is_flag=True, help="Delete --db (and its -wal, -shm, -lock) first.")
@click.option(
    "--seed",
    type=click.IntRange(0, SEQ_MAX),
    default=1,
    show_default=True,
    help="Seeds every draw.",
)
@click.option("--date", "day", default="2026-12-01", show_default=True, help="The day.")
@click.option(
    "--customers",
    type=click.IntRange(40, 1_000_000),
    default=DemoSize().customers,
    show_default=True,
)
@click.option(
    "--merchants", type=click.IntRange(1, 100_000), default=DemoSize().merchants, show_default=True
)
@click.option(
    "--agents", type=click.IntRange(3, 100_000), default=DemoSize().agents, show_default=True
)
@click.option(
    "--couriers", type=click.IntRange(1, 100_000), default=DemoSize().couriers, show_default=True
)
@click.option(
    "--cod-orders",
    type=click.IntRange(10, 1_000_000),
    default=DemoSize().cod_orders_per_day,
    show_default=True,
    help="COD parcels delivered a day.",
)
@click.option(
    "--loans", type=click.IntRange(10, 500_000), default=DemoSize().loans, show_default=True
)
@_timezone_option(f"The zone the new ledger records; default: {DEFAULT_TIMEZONE}.")
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
    timezone: str | None,
) -> None:
    """Write a seeded, realistic day of wallet, COD and loan activity into a new ledger,
    print the day's reports, then verify it; exit 1 on any finding."""
    on = _day(day, "--date")
    assert on is not None
    if not date(1971, 1, 1) <= on <= date(9998, 12, 31):
        raise click.BadParameter(f"{day} is outside 1971..9998", param_hint="--date")
    zone_name = timezone or DEFAULT_TIMEZONE
    zone = ZoneInfo(zone_name)
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
    if not path.absolute().parent.is_dir():
        raise click.ClickException(f"cannot write {shown(db)}: its folder does not exist")
    if path.exists() and path.stat().st_size:
        if not overwrite:
            raise click.UsageError(
                f"{shown(db)} exists: give --overwrite to replace it, or another --db"
            )
        _refuse_unless_demo(db)
        for name in _demo_files(db):
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
            outcome = run_demo(
                path, seed=seed, size=size, day=on, timezone=zone_name, progress=step
            )
        except BaseException as exc:
            for name in _demo_files(db):  # the demo's own half-written file
                Path(name).unlink(missing_ok=True)
            if isinstance(exc, LedgerError):
                raise click.ClickException(str(exc)) from exc
            if isinstance(exc, OSError) and exc.filename is not None:
                raise click.ClickException(_os_error(exc)) from exc
            raise
    history = sum(outcome.history.values())
    submitted = sum(outcome.submitted.values())
    accepted = sum(outcome.accepted.values())
    with _ledger(db, readonly=False) as book:
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
        try:
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
        except LedgerError as exc:
            raise click.ClickException(str(exc)) from exc
    _print_verification(report, as_json=False)
    findings += len(report.findings)
    sys.exit(0 if findings == 0 else 1)


if __name__ == "__main__":
    main()
