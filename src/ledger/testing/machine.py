"""The core stateful machine: random account and journal commands against a plain model
(:class:`Model`), checking every invariant after each step."""

from __future__ import annotations

import itertools
from typing import Any

import attrs
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from ledger.book import Ledger
from ledger.commands import (
    CloseAccount,
    Command,
    Credit,
    Debit,
    FreezeAccount,
    OpenAccount,
    PostEntry,
    Reverse,
    UnfreezeAccount,
)
from ledger.errors import RejectCode
from ledger.money import AMOUNT_MAX_MINOR
from ledger.results import Accepted, Rejected, Result
from ledger.testing.strategies import account_types

# --- the model ------------------------------------------------------------------------


@attrs.define
class ModelAccount:
    type: str
    currency: str
    no_overdraft: bool
    max_balance_minor: int | None
    status: str = "open"
    debits: int = 0
    credits: int = 0

    @property
    def credit_normal(self) -> bool:
        return self.type in ("liability", "equity", "income")

    @property
    def balance(self) -> int:
        return self.credits - self.debits if self.credit_normal else self.debits - self.credits


@attrs.define
class Model:
    """A plain re-statement of the rules: what the ledger should answer, and its state."""

    accounts: dict[str, ModelAccount] = attrs.field(factory=dict)
    accepted: dict[str, tuple[Command, int]] = attrs.field(factory=dict)
    entries: dict[str, list[tuple[str, str, int]]] = attrs.field(factory=dict)
    reversed: set[str] = attrs.field(factory=set)
    events: int = 0

    def expect(self, command: Command) -> RejectCode | None:
        """The code the ledger must reject ``command`` with, or None to accept it."""
        if isinstance(command, OpenAccount):
            existing = self.accounts.get(command.account)
            if existing is None:
                return None
            if existing.status == "closed":
                return RejectCode.ACCOUNT_CLOSED
            same = (
                existing.type,
                existing.currency,
                existing.no_overdraft,
                existing.max_balance_minor,
            ) == (command.type, command.currency, command.no_overdraft, command.max_balance_minor)
            return RejectCode.ACCOUNT_EXISTS if same else RejectCode.ACCOUNT_EXISTS_DIFFERENT
        if isinstance(command, FreezeAccount | UnfreezeAccount | CloseAccount):
            acc = self.accounts.get(command.account)
            if acc is None:
                return RejectCode.ACCOUNT_NOT_FOUND
            if acc.status == "closed":
                return RejectCode.ACCOUNT_CLOSED
            if isinstance(command, UnfreezeAccount):
                return None if acc.status == "frozen" else RejectCode.ACCOUNT_NOT_FROZEN
            if isinstance(command, FreezeAccount):
                return RejectCode.ACCOUNT_FROZEN if acc.status == "frozen" else None
            return RejectCode.BALANCE_NOT_ZERO if acc.debits != acc.credits else None
        if isinstance(command, PostEntry):
            return self._legs(
                [
                    (leg.account, leg.side, leg.amount_minor, leg.currency)
                    for leg in command.postings
                ]
            )
        if isinstance(command, Reverse):
            legs = self.entries.get(command.entry_id)
            if legs is None:
                return RejectCode.ENTRY_NOT_FOUND
            if command.entry_id in self.reversed:
                return RejectCode.ENTRY_ALREADY_REVERSED
            return self._legs([(a, _flip(s), n, None) for a, s, n in legs])
        raise AssertionError(f"the model does not know {command!r}")

    def _legs(self, legs: list[tuple[str, str, int, str | None]]) -> RejectCode | None:
        if not 2 <= len(legs) <= 128:
            return RejectCode.POSTINGS_INVALID
        if any(type(n) is not int or not 0 < n <= AMOUNT_MAX_MINOR for _, _, n, _ in legs):
            return RejectCode.AMOUNT_INVALID
        for account, _, _, code in legs:
            acc = self.accounts.get(account)
            if acc is None:
                return RejectCode.ACCOUNT_NOT_FOUND
            if acc.status == "frozen":
                return RejectCode.ACCOUNT_FROZEN
            if acc.status == "closed":
                return RejectCode.ACCOUNT_CLOSED
            if code is not None and code != acc.currency:
                return RejectCode.CURRENCY_MISMATCH
        net: dict[str, int] = {}
        for account, side, n, _ in legs:
            c = self.accounts[account].currency
            net[c] = net.get(c, 0) + (n if side == "debit" else -n)
        if any(net.values()):
            return RejectCode.UNBALANCED
        after = {a: [self.accounts[a].debits, self.accounts[a].credits] for a, _, _, _ in legs}
        for account, side, n, _ in legs:
            after[account][0 if side == "debit" else 1] += n
        if any(v > AMOUNT_MAX_MINOR for pair in after.values() for v in pair):
            return RejectCode.OVERFLOW
        for account, (dr, cr) in after.items():
            acc = self.accounts[account]
            new = cr - dr if acc.credit_normal else dr - cr
            if acc.no_overdraft and new < 0 and new < acc.balance:
                return RejectCode.INSUFFICIENT_FUNDS
        for account, (dr, cr) in after.items():
            acc = self.accounts[account]
            new = cr - dr if acc.credit_normal else dr - cr
            cap = acc.max_balance_minor
            if cap is not None and new > cap and new > acc.balance:
                return RejectCode.LIMIT_EXCEEDED
        return None

    def apply(self, command: Command, seq: int) -> None:
        """Record an accepted command's effect."""
        self.accepted[command.id] = (command, seq)
        self.events += 1
        if isinstance(command, OpenAccount):
            self.accounts[command.account] = ModelAccount(
                command.type, command.currency, command.no_overdraft, command.max_balance_minor
            )
            return
        if isinstance(command, FreezeAccount | UnfreezeAccount | CloseAccount):
            status = {FreezeAccount: "frozen", UnfreezeAccount: "open", CloseAccount: "closed"}
            self.accounts[command.account].status = status[type(command)]
            return
        if isinstance(command, PostEntry):
            legs = [(leg.account, str(leg.side), leg.amount_minor) for leg in command.postings]
            self.entries[command.id] = legs
        else:
            assert isinstance(command, Reverse)
            legs = [(a, _flip(s), n) for a, s, n in self.entries[command.entry_id]]
            self.reversed.add(command.entry_id)
            self.entries[command.id] = legs
        for account, side, n in legs:
            acc = self.accounts[account]
            if side == "debit":
                acc.debits += n
            else:
                acc.credits += n


def _flip(side: str) -> str:
    return "credit" if side == "debit" else "debit"


# --- the machine ----------------------------------------------------------------------

_NAMES = [f"acct:{i}" for i in range(8)]
_LEG_ACCOUNTS = [*_NAMES[:-2] * 12, *_NAMES[-2:], "acct:nowhere"]
_amount = st.integers(0, 19).flatmap(
    lambda k: st.integers(2**62, 2**63 - 1) if k == 0 else st.integers(1, 5_000_000)
)


class AuditedMachine(RuleBasedStateMachine):
    """What every ledger machine shares: fresh command ids, balances rebuilt from the log
    equal to the inline ones after every step, and the whole audit at the end."""

    book: Ledger
    check_projections = True
    """Fold the read models after every step and compare them with a rebuild at the end.
    A test that only wants the machine to find a planted bug in a flow may turn it off."""

    def __init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(1)
        self.refused: list[tuple[Command, Rejected]] = []

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    def _refused(self, command: Command, result: Rejected) -> None:
        """Keep a refusal, to send its command again later (:meth:`retry_refused`)."""
        if result.code is not RejectCode.ID_INVALID:  # never decided, so never recorded
            self.refused.append((command, result))

    @precondition(lambda self: bool(self.refused))
    @rule(pick=st.integers(0, 10_000))
    def retry_refused(self, pick: int) -> None:
        """A refused command sent again, however the books have moved since: the first
        refusal comes back, marked as a replay, and nothing is appended."""
        command, first = self.refused[pick % len(self.refused)]
        before = self.book.head()
        result = self.book.submit(command)
        assert result == attrs.evolve(first, replayed=True), (command, first, result)
        assert self.book.head() == before

    @invariant()
    def rebuilt_balances_equal_inline(self) -> None:
        """Balances folded from the log, from scratch, equal the ones kept inline."""
        from projections import rebuild

        assert rebuild(self.book.events()) == {b.account: b for b in self.book.balances()}

    @invariant()
    def projections_caught_up(self) -> None:
        """Every read model folds each step's events incrementally (in pages of a few
        events, so page boundaries fall everywhere), across reopenings of the ledger as a
        process restart would; teardown compares it with a rebuild."""
        from projections.runner import Runner

        if not self.check_projections:
            return
        runner = getattr(self, "_runner", None)
        if runner is None:
            runner = self._runner = Runner(self.book, ":memory:", page_events=3)
        runner.book = self.book  # the same read models go on after a reopen
        runner.catch_up()

    def teardown(self) -> None:
        from ledger.audit import verify

        report = verify(self.book)
        assert report.ok, report.findings
        runner = getattr(self, "_runner", None)
        if runner is not None:
            runner.book = self.book
            runner.catch_up()
            rebuilt = runner.rebuild_into(":memory:")
            assert rebuilt.dump() == runner.dump(), "rebuilt read models differ from incremental"
            rebuilt.close()
            runner.close()
        self.book.close()


class RetryingMachine(AuditedMachine):
    """A machine that keeps the commands it had accepted and sends them again: the first
    answer comes back, and nothing is appended."""

    def __init__(self) -> None:
        super().__init__()
        self.accepted: list[tuple[Command, int]] = []

    @precondition(lambda self: bool(self.accepted))
    @rule(pick=st.integers(0, 10_000))
    def retry(self, pick: int) -> None:
        """An accepted command sent again, even days later: the first answer, nothing new."""
        command, seq = self.accepted[pick % len(self.accepted)]
        before = self.book.head()
        result = self.book.submit(command)
        assert result == Accepted(command.id, seq, replayed=True), (command, result)
        assert self.book.head() == before


class LedgerMachine(AuditedMachine):
    """Random command sequences against a ledger, checked against :class:`Model`."""

    entry_ids = Bundle("entry_ids")

    def __init__(self) -> None:
        super().__init__()
        self.book = self.open_ledger()
        self.model = Model()

    def open_ledger(self) -> Ledger:
        """The ledger under test; override to test another store or configuration."""
        return Ledger.open(":memory:")

    def _submit(self, command: Command) -> Result:
        expected = self.model.expect(command)
        before = self.book.head()[0]
        result = self.book.submit(command)
        self._check(command, expected, result, before)
        return result

    def _check(
        self, command: Command, expected: RejectCode | None, result: Result, before: int
    ) -> None:
        if expected is None:
            assert isinstance(result, Accepted), (command, result)
            self.model.apply(command, result.seq)
        else:
            assert isinstance(result, Rejected), (command, result)
            assert result.code is expected, (command, result, expected)
            assert self.book.head()[0] == before, "a rejected command appended"
            self._refused(command, result)

    @rule(
        name=st.sampled_from(_NAMES),
        type_=account_types(),
        currency=st.sampled_from(["THB", "USD", "JPY"]),
        no_overdraft=st.booleans(),
        cap=st.none() | st.integers(1, 10_000_000),
    )
    def open_account(
        self, name: str, type_: str, currency: str, no_overdraft: bool, cap: int | None
    ) -> None:
        self._submit(
            OpenAccount(
                id=self._next_id("open"),
                account=name,
                type=type_,
                currency=currency,
                no_overdraft=no_overdraft,
                max_balance_minor=cap,
            )
        )

    @initialize(
        chart=st.lists(
            st.tuples(
                account_types(),
                st.sampled_from(["THB", "THB", "USD"]),
                st.booleans(),
                st.none() | st.none() | st.integers(1, 20_000_000),
            ),
            min_size=len(_NAMES) - 2,
            max_size=len(_NAMES) - 2,
        )
    )
    def open_chart(self, chart: list[tuple[str, str, bool, int | None]]) -> None:
        """Most accounts exist from the start, so entries get through often."""
        for name, (type_, currency, no_overdraft, cap) in zip(_NAMES, chart, strict=False):
            self.open_account(name, type_, currency, no_overdraft, cap)

    @rule(
        target=entry_ids,
        legs=st.lists(
            st.tuples(
                st.sampled_from(_LEG_ACCOUNTS),
                st.sampled_from(["debit", "credit"]),
                _amount,
                st.sampled_from([None] * 30 + ["THB", "USD"]),
            ),
            min_size=1,
            max_size=5,
        ),
        balance_it=st.integers(0, 9),
    )
    def post_entry(self, legs: list[tuple[str, str, int, str | None]], balance_it: int) -> str:
        """Random legs, balanced per currency nine times in ten; some assert a currency."""
        if balance_it:
            gaps: dict[str, tuple[str, int]] = {}
            for account, side, n, _ in legs:
                known = self.model.accounts.get(account)
                if known is None:
                    continue
                first, gap = gaps.get(known.currency, (account, 0))
                gaps[known.currency] = (first, gap + (n if side == "debit" else -n))
            for first, gap in gaps.values():
                if gap:
                    legs = [*legs, (first, "credit" if gap > 0 else "debit", abs(gap), None)]
        command = PostEntry(
            id=self._next_id("entry"),
            kind="adjustment",
            postings=[(Debit if s == "debit" else Credit)(a, n, c) for a, s, n, c in legs],
        )
        self._submit(command)
        return command.id

    @rule(entry=entry_ids)
    def reverse(self, entry: str) -> None:
        self._submit(Reverse(id=self._next_id("rev"), entry_id=entry))

    @rule(
        name=st.sampled_from(_NAMES),
        action=st.sampled_from(["freeze", "freeze", "unfreeze", "unfreeze", "close"]),
    )
    def lifecycle(self, name: str, action: str) -> None:
        cls: Any = {"freeze": FreezeAccount, "unfreeze": UnfreezeAccount, "close": CloseAccount}
        self._submit(cls[action](id=self._next_id(action), account=name))

    @precondition(lambda self: bool(self.model.accepted))
    @rule(data=st.data())
    def retry(self, data: st.DataObject) -> None:
        """An accepted command sent again: same seq, nothing new written."""
        command_id = data.draw(st.sampled_from(sorted(self.model.accepted)))
        command, seq = self.model.accepted[command_id]
        before = self.book.head()[0]
        result = self.book.submit(command)
        assert result == Accepted(command.id, seq, replayed=True), (command, result)
        assert self.book.head()[0] == before

    @precondition(lambda self: bool(self.model.accepted))
    @rule(data=st.data())
    def conflict(self, data: st.DataObject) -> None:
        """An accepted command's id reused for other content: idempotency_conflict."""
        command_id = data.draw(st.sampled_from(sorted(self.model.accepted)))
        other = Reverse(id=command_id, entry_id="some-other-entry")
        before = self.book.head()[0]
        result = self.book.submit(other)
        assert isinstance(result, Rejected) and result.code is RejectCode.IDEMPOTENCY_CONFLICT
        assert self.book.head()[0] == before

    @rule(
        entries=st.lists(
            st.tuples(st.sampled_from(_NAMES), st.sampled_from(_NAMES), st.integers(1, 3_000_000)),
            min_size=1,
            max_size=4,
        ),
        linked=st.booleans(),
    )
    def batch(self, entries: list[tuple[str, str, int]], linked: bool) -> None:
        """A batch of transfers in one transaction, linked (all-or-nothing) or not."""
        commands = [
            PostEntry(
                id=self._next_id("batch"), kind="transfer", postings=[Debit(a, n), Credit(b, n)]
            )
            for a, b, n in entries
        ]
        before = self.book.head()[0]
        results = self.book.submit_many(commands, linked=linked)
        assert len(results) == len(commands)
        if not linked:
            for command, result in zip(commands, results, strict=True):
                expected = self.model.expect(command)
                if expected is None:
                    assert isinstance(result, Accepted), (command, result)
                    self.model.apply(command, result.seq)
                else:
                    assert isinstance(result, Rejected) and result.code is expected, (
                        command,
                        result,
                        expected,
                    )
            return
        trial = Model(
            accounts={k: attrs.evolve(v) for k, v in self.model.accounts.items()},
            entries=dict(self.model.entries),
            reversed=set(self.model.reversed),
        )
        codes = []
        for command in commands:
            code = trial.expect(command)
            codes.append(code)
            if code is not None:
                break
            trial.apply(command, 0)
        if all(code is None for code in codes):
            for command, result in zip(commands, results, strict=True):
                assert isinstance(result, Accepted), (command, result)
                self.model.apply(command, result.seq)
        else:
            assert self.book.head()[0] == before, "a failed linked batch appended"
            failing = len(codes) - 1
            for i, result in enumerate(results):
                assert isinstance(result, Rejected)
                want = codes[failing] if i == failing else RejectCode.LINKED_COMMAND_FAILED
                assert result.code is want, (i, result, want)

    @invariant()
    def balances_match_model(self) -> None:
        for b in self.book.balances():
            acc = self.model.accounts[b.account]
            assert (b.debits_posted, b.credits_posted) == (acc.debits, acc.credits), b
            assert b.balance == acc.balance
        assert {b.account for b in self.book.balances()} == set(self.model.accounts)

    @invariant()
    def every_currency_sums_to_zero(self) -> None:
        totals: dict[str, int] = {}
        for b in self.book.balances():
            totals[b.currency] = totals.get(b.currency, 0) + b.debits_posted - b.credits_posted
        assert all(v == 0 for v in totals.values()), totals

    @invariant()
    def no_overdraft_holds(self) -> None:
        for b in self.book.balances():
            if self.model.accounts[b.account].no_overdraft:
                assert b.available >= 0, b

    @invariant()
    def log_grows_only_by_accepted_commands(self) -> None:
        assert self.book.head()[0] == self.model.events
