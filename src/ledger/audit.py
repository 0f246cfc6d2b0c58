"""Audit checks over a whole ledger: the hash chain, rebuilt balances, invariants.

Each check returns findings (values), never raises on a finding: an auditor wants the
full list. ``satang verify`` prints them.
"""

from __future__ import annotations

import attrs

from ledger.book import Ledger
from ledger.events import MoneyEvent
from ledger.flows.base import to_us
from ledger.store.base import GENESIS_HASH, chain_hash
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
    """Walk the chain, refold balances from the log, and check the money invariants."""
    findings: list[Finding] = []
    previous = GENESIS_HASH
    expected_seq = 0
    count = 0
    for rec in book.events():
        count += 1
        expected_seq += 1
        if rec.seq != expected_seq:
            findings.append(Finding("gapless", rec.seq, f"expected seq {expected_seq}"))
            expected_seq = rec.seq
        recomputed = chain_hash(
            previous,
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
            findings.append(Finding("hash_chain", rec.seq, "hash does not match the row"))
        previous = bytes.fromhex(rec.hash)
        if isinstance(rec.event, MoneyEvent):
            net: dict[str, int] = {}
            for p in rec.event.postings:
                sign = 1 if p.side == "debit" else -1
                net[p.currency] = net.get(p.currency, 0) + sign * p.amount_minor
            if any(net.values()):
                findings.append(Finding("entry_balances", rec.seq, f"per currency {net}"))
    rebuilt = balance_model.rebuild(book.events())
    inline = {b.account: b for b in book.balances()}
    for account in sorted(set(rebuilt) | set(inline)):
        if rebuilt.get(account) != inline.get(account):
            findings.append(
                Finding(
                    "balances_rebuild",
                    0,
                    f"{account}: inline {inline.get(account)} != rebuilt {rebuilt.get(account)}",
                )
            )
    for currency, total in sorted(balance_model.totals_by_currency(inline.values()).items()):
        if total:
            findings.append(Finding("zero_sum", 0, f"{currency} accounts sum to {total}"))
    for b in inline.values():
        if book.account(b.account).no_overdraft and b.available < 0:
            findings.append(Finding("no_overdraft", 0, f"{b.account} available {b.available}"))
    seq, digest = book.head()
    return Report(count, seq, digest, tuple(findings))
