"""Audit checks over a whole ledger: the hash chain, everything refolded, invariants.

Each check returns findings (values) and never stops at the first one: an auditor wants
the full list. The walk runs in one read snapshot, so a ledger that is being written to
meanwhile is audited as of the moment the walk began. ``satang verify`` prints the report.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from ledger.accounts import Account, Counters
from ledger.book import Ledger
from ledger.errors import StoreCorrupt
from ledger.events import MoneyEvent
from ledger.store.base import GENESIS_HASH, PostingRow, RecordedEvent, chain_hash
from ledger.times import to_us
from projections import balances as balance_model

CHECKS = (
    "readable",
    "gapless",
    "hash_chain",
    "recorded_order",
    "entry_balances",
    "refold",
    "balance_history",
    "commands_index",
    "accounts_rebuild",
    "zero_sum",
    "no_overdraft",
)
"""Every check, in the order the walk makes them."""


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
    """Walk the log once and check everything the store keeps against it.

    ``readable`` (every row decodes), ``gapless`` seq, ``hash_chain``, ``recorded_order``
    (``recorded_at`` never goes back), ``entry_balances`` (per currency), ``refold`` (the
    log folds: no posting to an account never opened), ``balance_history`` (the stored
    running counters that ``balance(as_of=seq)`` reads), ``commands_index`` (the
    idempotency index names exactly the commands of the log, with their seqs),
    ``accounts_rebuild`` (attributes, status and counters inline == refolded),
    ``zero_sum`` per currency, ``no_overdraft`` (from the refolded policy).
    """
    with book.snapshot():
        rows = book.store.posting_rows()
        walk = _Walk(rows)
        try:
            events = book.events()
            while True:
                try:
                    rec = next(events, None)
                    if rec is None:
                        break
                    walk.step(rec)
                except StoreCorrupt as exc:
                    walk.findings.append(Finding("readable", exc.seq or walk.seq + 1, str(exc)))
                    break
            if not any(f.check in _FOLD_BROKEN for f in walk.findings):
                try:
                    walk.finish(book)
                except StoreCorrupt as exc:
                    walk.findings.append(Finding("readable", exc.seq or 0, str(exc)))
        finally:
            rows.close()
        seq, digest = book.head()
    return Report(walk.count, seq, digest, tuple(walk.findings))


_FOLD_BROKEN = {"readable", "refold"}
"""Findings after which the refold is partial, so comparing the store with it means nothing."""


class _Walk:
    """One pass over the log: the chain, each entry, the fold and the balance history."""

    def __init__(self, stored_rows: Iterator[PostingRow]) -> None:
        self.findings: list[Finding] = []
        self.previous = GENESIS_HASH
        self.seq = 0
        self.recorded_us = 0
        self.count = 0
        self.running: dict[str, Counters] = {}
        self.stored_rows = stored_rows
        self.history_ok = True
        self.commands: dict[str, tuple[int, int]] = {}
        self.fold = balance_model.Fold()

    def step(self, rec: RecordedEvent) -> None:
        self.count += 1
        if rec.seq != self.seq + 1:
            self._found("gapless", rec.seq, f"expected seq {self.seq + 1}")
        self.seq = rec.seq
        recorded_us = to_us(rec.recorded_at)
        recomputed = chain_hash(
            self.previous,
            rec.seq,
            rec.stream,
            rec.version,
            rec.command_id,
            rec.type,
            rec.schema,
            recorded_us,
            to_us(rec.effective_at),
            rec.payload,
        )
        if recomputed.hex() != rec.hash:
            self._found("hash_chain", rec.seq, "the hash does not match the row")
        self.previous = bytes.fromhex(rec.hash)
        if recorded_us < self.recorded_us:
            self._found("recorded_order", rec.seq, "recorded_at is before the previous event's")
        self.recorded_us = recorded_us
        first, _ = self.commands.get(rec.command_id, (rec.seq, rec.seq))
        self.commands[rec.command_id] = (first, rec.seq)
        try:
            self.fold.apply(rec)
        except balance_model.FoldError as exc:
            self._found("refold", rec.seq, str(exc))
        if isinstance(rec.event, MoneyEvent):
            self._entry(rec)

    def _entry(self, rec: RecordedEvent) -> None:
        assert isinstance(rec.event, MoneyEvent)
        net: dict[tuple[str, str], int] = {}
        for p in rec.event.postings:
            sign = 1 if p.side == "debit" else -1
            key = (p.currency, p.phase)
            net[key] = net.get(key, 0) + sign * p.amount_minor
        if any(net.values()):
            self._found("entry_balances", rec.seq, f"per currency and phase {net}")
        effective_us = to_us(rec.effective_at)
        for leg, p in enumerate(rec.event.postings):
            after = self.running.get(p.account, Counters()).add(p.side, p.amount_minor, p.phase)
            self.running[p.account] = after
            expected = PostingRow(
                p.account, rec.seq, leg, p.side, p.amount_minor, effective_us, after, p.phase
            )
            stored = next(self.stored_rows, None) if self.history_ok else None
            if self.history_ok and stored != expected:
                self.history_ok = False
                self._found("balance_history", rec.seq, f"leg {leg}: stored row {stored}")

    def finish(self, book: Ledger) -> None:
        """The comparisons that need the whole fold: history tail, index, accounts."""
        extra = next(self.stored_rows, None) if self.history_ok else None
        if extra is not None:
            self._found("balance_history", extra.seq, f"a row without a posting: {extra}")
        indexed = {cid: (first, last) for cid, first, last in book.store.command_rows()}
        for cid in sorted(set(indexed) | set(self.commands)):
            if indexed.get(cid) != self.commands.get(cid):
                self._found(
                    "commands_index",
                    (self.commands.get(cid) or indexed.get(cid) or (0, 0))[0],
                    f"{cid!r}: index says {indexed.get(cid)}, log says {self.commands.get(cid)}",
                )
        refolded = self.fold.accounts()
        inline: dict[str, tuple[Account, Counters]] = {
            a.id: (a, c) for a, c in book.store.accounts()
        }
        for account in sorted(set(refolded) | set(inline)):
            if refolded.get(account) != inline.get(account):
                self._found(
                    "accounts_rebuild",
                    0,
                    f"{account}: inline {inline.get(account)} != refolded {refolded.get(account)}",
                )
        balances = self.fold.balances()
        for currency, total in sorted(balance_model.totals_by_currency(balances.values()).items()):
            if total:
                self._found("zero_sum", 0, f"{currency} accounts sum to {total}")
        for account_id, (opened, _) in refolded.items():
            if opened.no_overdraft and balances[account_id].available < 0:
                self._found(
                    "no_overdraft", 0, f"{account_id} available {balances[account_id].available}"
                )

    def _found(self, check: str, seq: int, detail: str) -> None:
        self.findings.append(Finding(check, seq, detail))
