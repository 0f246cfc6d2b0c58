"""Audit checks over a whole ledger: the hash chain, refolded balances, invariants.

Each check returns findings (values) and never stops at the first one: an auditor wants
the full list. ``satang verify`` prints them.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from ledger.accounts import Balance, Counters
from ledger.book import Ledger
from ledger.errors import StoreCorrupt
from ledger.events import MoneyEvent
from ledger.flows.base import to_us
from ledger.store.base import GENESIS_HASH, RecordedEvent, chain_hash
from projections import balances as balance_model


@attrs.frozen
class Finding:
    """One thing wrong, with the first log position where it shows (0 if none)."""

    check: str
    seq: int
    detail: str


@attrs.frozen
class Report:
    events_checked: int
    head_seq: int
    head_hash: str
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not self.findings


def verify(book: Ledger) -> Report:
    """Walk the chain, refold balances and their history from the log, check invariants.

    Checks: ``readable`` (every row decodes), ``gapless`` seq, ``hash_chain``,
    ``entry_balances`` (per currency), ``balance_history`` (the stored running counters
    ``balance(as_of=seq)`` reads), ``balances_rebuild`` (inline == refolded),
    ``zero_sum`` per currency, ``no_overdraft``.
    """
    findings: list[Finding] = []
    walk = _Walk(book.store.posting_rows())
    events = book.events()
    while True:
        try:
            rec = next(events, None)
        except StoreCorrupt as exc:
            findings.append(Finding("readable", exc.seq or walk.seq + 1, str(exc)))
            break
        if rec is None:
            break
        findings += walk.step(rec)
    inline = {b.account: b for b in book.balances()}
    if not any(f.check == "readable" for f in findings):  # else the refold is partial
        findings += walk.finish()
        rebuilt = walk.balances()
        for account in sorted(set(rebuilt) | set(inline)):
            if rebuilt.get(account) != inline.get(account):
                findings.append(
                    Finding(
                        "balances_rebuild",
                        0,
                        f"{account}: inline {inline.get(account)} "
                        f"!= rebuilt {rebuilt.get(account)}",
                    )
                )
    for currency, total in sorted(balance_model.totals_by_currency(inline.values()).items()):
        if total:
            findings.append(Finding("zero_sum", 0, f"{currency} accounts sum to {total}"))
    for b in inline.values():
        if book.account(b.account).no_overdraft and b.available < 0:
            findings.append(Finding("no_overdraft", 0, f"{b.account} available {b.available}"))
    seq, digest = book.head()
    return Report(walk.count, seq, digest, tuple(findings))


class _Walk:
    """One pass over the log: the chain, each entry, and the running balance history."""

    def __init__(self, stored_rows: Iterator[tuple[str, int, int, Counters]]) -> None:
        self.previous = GENESIS_HASH
        self.seq = 0
        self.count = 0
        self.running: dict[str, Counters] = {}
        self.stored_rows = stored_rows
        self.history_ok = True
        self._fold = balance_model.Fold()

    def step(self, rec: RecordedEvent) -> list[Finding]:
        found: list[Finding] = []
        self.count += 1
        if rec.seq != self.seq + 1:
            found.append(Finding("gapless", rec.seq, f"expected seq {self.seq + 1}"))
        self.seq = rec.seq
        recomputed = chain_hash(
            self.previous,
            rec.seq,
            rec.stream,
            rec.version,
            rec.command_id,
            rec.type,
            rec.schema,
            to_us(rec.recorded_at),
            to_us(rec.effective_at),
            rec.payload,
        )
        if recomputed.hex() != rec.hash:
            found.append(Finding("hash_chain", rec.seq, "the hash does not match the row"))
        self.previous = bytes.fromhex(rec.hash)
        self._fold.apply(rec)
        if isinstance(rec.event, MoneyEvent):
            net: dict[str, int] = {}
            for p in rec.event.postings:
                sign = 1 if p.side == "debit" else -1
                net[p.currency] = net.get(p.currency, 0) + sign * p.amount_minor
            if any(net.values()):
                found.append(Finding("entry_balances", rec.seq, f"per currency {net}"))
            for leg, p in enumerate(rec.event.postings):
                after = self.running.get(p.account, Counters()).add(p.side, p.amount_minor)
                self.running[p.account] = after
                stored = next(self.stored_rows, None)
                if self.history_ok and stored != (p.account, rec.seq, leg, after):
                    self.history_ok = False
                    found.append(
                        Finding("balance_history", rec.seq, f"leg {leg}: stored row {stored}")
                    )
        return found

    def finish(self) -> list[Finding]:
        extra = next(self.stored_rows, None)
        if self.history_ok and extra is not None:
            return [Finding("balance_history", extra[1], f"a row without a posting: {extra}")]
        return []

    def balances(self) -> dict[str, Balance]:
        return self._fold.balances()
