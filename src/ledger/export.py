"""Exports of the whole log for other tools: JSON lines, CSV postings, a beancount ledger.

* ``jsonl`` — one event a line, as ``satang events`` prints them (the event as JSON: a
  schema 1 row's stored payload, a compact row in the same JSON shape, and its hash):
  the log itself, for archives and pipelines.
* ``csv`` — one row per posting leg: seq, times, command, event type, stream, leg,
  account, side, phase, amount in minor units, currency.
* ``beancount`` — a complete plain-text ledger accountants can open in the tools they
  know: an ``open`` directive for every account (its Satang id in the metadata) and a
  transaction for every entry, dated by its business day in the ledger's time zone,
  with the entry's posted legs (debits positive, credits negative, as beancount signs
  them). Hold legs (``pending``, ``released``) reserve funds without posting, so they
  are not in it; every account's beancount balance equals its posted Satang balance.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator

from ledger.accounts import AccountType
from ledger.book import Ledger
from ledger.events import COMPACT_SCHEMA, AccountOpened, MoneyEvent, event_json
from ledger.money import format_amount
from ledger.store.base import RecordedEvent

FORMATS = ("jsonl", "csv", "beancount")

_ROOTS = {
    AccountType.ASSET: "Assets",
    AccountType.LIABILITY: "Liabilities",
    AccountType.EQUITY: "Equity",
    AccountType.INCOME: "Income",
    AccountType.EXPENSE: "Expenses",
}
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9-]")


def event_record(rec: RecordedEvent) -> dict[str, object]:
    """One event as the JSON lines exports and ``satang events`` print it."""
    return {
        "seq": rec.seq,
        "stream": rec.stream,
        "version": rec.version,
        "command_id": rec.command_id,
        "type": rec.type,
        "schema": rec.schema,
        "recorded_at": rec.recorded_at.isoformat(),
        "effective_at": rec.effective_at.isoformat(),
        # a schema 1 row's own JSON, as the chain covers it; a compact one's, as that JSON
        "event": json.loads(rec.payload if rec.schema < COMPACT_SCHEMA else event_json(rec.event)),
        "hash": rec.hash,
    }


def jsonl(book: Ledger) -> Iterator[str]:
    """Every event of the log as one JSON object a line, in seq order."""
    for rec in book.events():
        yield json.dumps(event_record(rec), separators=(",", ":")) + "\n"


CSV_COLUMNS = (
    "seq",
    "effective_at",
    "recorded_at",
    "command_id",
    "type",
    "stream",
    "leg",
    "account",
    "side",
    "phase",
    "amount_minor",
    "currency",
)


def postings_csv(book: Ledger) -> Iterator[str]:
    """Every posting of the log as a CSV row (a header first), in seq and leg order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    yield _drain(out)
    for rec in book.events():
        if not isinstance(rec.event, MoneyEvent):
            continue
        for leg, p in enumerate(rec.event.postings):
            writer.writerow(
                (
                    rec.seq,
                    rec.effective_at.isoformat(),
                    rec.recorded_at.isoformat(),
                    rec.command_id,
                    rec.type,
                    rec.stream,
                    leg,
                    p.account,
                    p.side,
                    p.phase,
                    p.amount_minor,
                    p.currency,
                )
            )
        yield _drain(out)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def beancount_name(account_id: str, account_type: AccountType) -> str:
    """A beancount account name for a Satang id: its type's root, then each ``:`` part
    with characters beancount refuses turned into ``-`` and a capital first letter
    (``wallet:U_1`` a liability → ``Liabilities:Wallet:U-1``)."""
    parts = []
    for part in account_id.split(":"):
        clean = _NOT_ALLOWED.sub("-", part)
        if not clean[:1].isalpha() and not clean[:1].isdigit():
            clean = "X" + clean
        parts.append(clean[:1].upper() + clean[1:])
    return ":".join([_ROOTS[account_type], *parts])


def beancount(book: Ledger) -> Iterator[str]:
    """The ledger in beancount's syntax (see the module docstring)."""
    zone = book.policy.timezone
    opened: dict[str, tuple[str, str, str]] = {}  # id -> (name, currency, day)
    names: set[str] = set()
    first_day: dict[str, str] = {}
    for rec in book.events():
        day = rec.effective_at.astimezone(zone).date().isoformat()
        if isinstance(rec.event, AccountOpened):
            name = beancount_name(rec.event.account, AccountType(rec.event.account_type))
            base, n = name, 1
            while name in names:  # two ids that read the same in beancount's alphabet
                n += 1
                name = f"{base}-{n}"
            names.add(name)
            opened[rec.event.account] = (name, rec.event.currency, day)
        elif isinstance(rec.event, MoneyEvent):
            for p in rec.event.postings:
                first_day[p.account] = min(first_day.get(p.account, day), day)
    yield f'option "title" "Satang ledger, exported at seq {book.head()[0]}"\n'
    yield f'option "operating_currency" "{book.chart.currency}"\n\n'
    for account_id, (name, code, day) in sorted(opened.items(), key=lambda kv: kv[1][0]):
        since = min(day, first_day.get(account_id, day))  # a backdated entry may come first
        yield f'{since} open {name} {code}\n  satang_id: "{account_id}"\n'
    yield "\n"
    for rec in book.events():
        event = rec.event
        if not isinstance(event, MoneyEvent):
            continue
        legs = [p for p in event.postings if p.phase == "posted"]
        if not legs:
            continue
        day = rec.effective_at.astimezone(zone).date().isoformat()
        narration = json.dumps(f"{rec.type} {rec.command_id}")
        lines = [
            f"{day} * {narration}",
            f"  satang_seq: {rec.seq}",
            f'  satang_effective_at: "{rec.effective_at.isoformat()}"',
            f"  satang_effective_us: {rec.effective_at_us}",
        ]
        for p in legs:
            signed = p.amount_minor if p.side == "debit" else -p.amount_minor
            amount = format_amount(signed, p.currency, grouping=False)
            lines.append(f"  {opened[p.account][0]}  {amount} {p.currency}")
        yield "\n".join(lines) + "\n\n"


EXPORTERS = {"jsonl": jsonl, "csv": postings_csv, "beancount": beancount}
