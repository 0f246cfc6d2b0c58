"""The statements read model (projections.statements) says what the write side says:
statements and their running balances (log order and effective order, paged), the
accounts and their balances now, and balances and the trial balance as of any seq,
effective time or day, for random ledgers — each checked against ``Ledger`` itself
(``balance(as_of=...)``, ``balances``, ``account``) on real SQLite files. The last test,
of arguments of the wrong type, also calls the runner's ``rebuild``."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any, NamedTuple

import attrs
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from ledger import (
    Accepted,
    AssignTier,
    CaptureHold,
    Credit,
    Debit,
    DefineTier,
    FreezeAccount,
    InvalidCommand,
    Ledger,
    Pay,
    PlaceHold,
    PostEntry,
    ReleaseHold,
    Reverse,
    TopUp,
    Transfer,
    UnknownAccount,
)
from ledger.errors import StoreCorrupt
from ledger.events import MoneyEvent
from ledger.store.sqlite import SqliteStore
from ledger.testing.strategies import balanced_entries, open_accounts
from ledger.times import ManualClock
from projections.runner import Runner
from projections.statements import (
    StatementLine,
    StatementPage,
    accounts,
    balances_as_of,
    statement,
    trial_balance,
)
from tests.conftest import written
from tests.projections.conftest import T0, all_accepted, check_as_of, ok, reads
from tests.tampering import tamper

# --- statements -------------------------------------------------------------------------


STATEMENT_ACCOUNTS = (
    "wallet:U1",
    "wallet:U2",
    "bank:trust",
    "merchant:M1:payable",
    "income:fees",
)


def wallet_story(book: Ledger, clock: ManualClock) -> str:
    """Top-ups, payments, P2P, holds captured, released and left pending, and a PostEntry
    backdated between two earlier postings; returns the backdated entry's command id."""
    chart = book.chart
    all_accepted(book.open_chart())
    all_accepted(
        book.submit_many(
            [
                chart.open_wallet("wallet:U1"),
                chart.open_wallet("wallet:U2"),
                chart.open_wallet("wallet:U9"),
                chart.open_merchant("M1"),
            ]
        )
    )
    ok(
        book,
        TopUp(id="t1", wallet="wallet:U1", amount_minor=100_000, channel="bank", fee_minor=500),
    )
    ok(book, TopUp(id="t2", wallet="wallet:U2", amount_minor=50_000, channel="bank"))
    all_accepted(  # one batch: two entries with one effective time
        book.submit_many(
            [
                TopUp(id="t3", wallet="wallet:U1", amount_minor=3_000, channel="card"),
                TopUp(id="t4", wallet="wallet:U2", amount_minor=4_000, channel="bank"),
            ]
        )
    )
    ok(book, Pay(id="p1", wallet="wallet:U1", merchant="M1", amount_minor=20_000, fee_minor=400))
    [paid] = written(book, "p1")
    ok(book, Transfer(id="x1", source="wallet:U1", destination="wallet:U2", amount_minor=5_000))
    hour = clock.now + timedelta(hours=1)
    payable = chart.merchant("M1")
    ok(
        book,
        PlaceHold(
            id="h1p",
            hold="H1",
            wallet="wallet:U1",
            destination=payable,
            amount_minor=10_000,
            expires_at=hour,
        ),
    )
    ok(book, CaptureHold(id="h1c", hold="H1", amount_minor=6_000))
    ok(
        book,
        PlaceHold(
            id="h2p",
            hold="H2",
            wallet="wallet:U2",
            destination=payable,
            amount_minor=3_000,
            expires_at=hour,
        ),
    )
    ok(book, ReleaseHold(id="h2r", hold="H2"))
    ok(
        book,
        PlaceHold(
            id="h3p",
            hold="H3",
            wallet="wallet:U1",
            destination=payable,
            amount_minor=1_000,
            expires_at=hour,
        ),
    )
    ok(
        book,
        PostEntry(
            id="adj-back",
            kind="adjustment",
            effective_at=paid.effective_at - timedelta(seconds=1),
            backdated=True,
            postings=[Debit("bank:trust", 7_000), Credit("wallet:U1", 7_000)],
        ),
    )
    ok(book, Pay(id="p2", wallet="wallet:U1", merchant="M1", amount_minor=2_500, fee_minor=50))
    ok(book, Transfer(id="x2", source="wallet:U2", destination="wallet:U1", amount_minor=1_500))
    ok(
        book,
        DefineTier(
            id="tier-basic",
            tier="basic",
            max_balance_minor=500_000,
            per_transaction_max_minor=None,
            daily_outflow_max_minor=None,
            monthly_outflow_max_minor=None,
        ),
    )
    ok(book, AssignTier(id="assign-U1", wallet="wallet:U1", tier="basic"))
    ok(book, FreezeAccount(id="freeze-U2", account="wallet:U2"))
    return "adj-back"


def expected_lines(book: Ledger, account: str) -> list[tuple[Any, ...]]:
    """Every leg of ``account`` in the log, in log order, as the write side has it."""
    normal = book.account(account).normal_side
    lines = []
    for r in book.events():
        if not isinstance(r.event, MoneyEvent):
            continue
        postings = r.event.postings
        others = tuple(dict.fromkeys(q.account for q in postings if q.account != account))
        for leg, p in enumerate(postings):
            if p.account != account:
                continue
            signed = 0
            if p.phase == "posted":
                signed = p.amount_minor if p.side == normal else -p.amount_minor
            lines.append(
                (
                    r.seq,
                    leg,
                    r.effective_at,
                    r.recorded_at,
                    r.type,
                    r.command_id,
                    others,
                    p.side,
                    p.phase,
                    p.amount_minor,
                    signed,
                )
            )
    return lines


def _fields(line: StatementLine) -> tuple[Any, ...]:
    return (
        line.seq,
        line.leg,
        line.effective_at,
        line.recorded_at,
        line.type,
        line.command_id,
        line.counterparties,
        line.side,
        line.phase,
        line.amount_minor,
        line.signed_minor,
    )


def _pages(runner: Runner, account: str, order: Any, limit: int) -> list[StatementPage]:
    pages: list[StatementPage] = []
    after = None
    while True:
        page = statement(runner, account, order=order, after=after, limit=limit)
        pages.append(page)
        if page.next_after is None:
            return pages
        after = page.next_after
        assert len(pages) < 1_000, "the pages never end"


def test_statement_in_log_order_runs_as_balance_as_of_seq(
    book: Ledger, clock: ManualClock, tmp_path: Path
) -> None:
    wallet_story(book, clock)
    runner = reads(book, tmp_path)
    for account in STATEMENT_ACCOUNTS:
        page = statement(runner, account, limit=10_000)
        assert (page.account, page.currency, page.order) == (account, "THB", "recorded")
        assert page.opening_minor == 0 and page.next_after is None
        assert [_fields(line) for line in page.lines] == expected_lines(book, account)
        before = 0
        for previous, line in pairwise((None, *page.lines)):
            if previous is None or previous.seq != line.seq:
                before = book.balance(account, as_of=line.seq - 1).balance
            before += line.signed_minor
            assert line.balance_minor == before, (account, line)
        # the last line of each seq is the balance after that log position
        for line, following in pairwise((*page.lines, None)):
            if following is None or following.seq != line.seq:
                assert line.balance_minor == book.balance(account, as_of=line.seq).balance
        assert page.lines[-1].balance_minor == book.balance(account).balance


def test_statement_in_effective_order_puts_the_backdated_entry_on_its_value_date(
    book: Ledger, clock: ManualClock, tmp_path: Path
) -> None:
    backdated = wallet_story(book, clock)
    runner = reads(book, tmp_path)
    for account in STATEMENT_ACCOUNTS:
        page = statement(runner, account, order="effective", limit=10_000)
        assert page.order == "effective" and page.opening_minor == 0
        keys = [(line.effective_at, line.seq, line.leg) for line in page.lines]
        assert keys == sorted(keys)
        assert sorted(_fields(line) for line in page.lines) == sorted(expected_lines(book, account))
        running = 0
        for line in page.lines:
            running += line.signed_minor
            assert line.balance_minor == running
        for line, following in pairwise((*page.lines, None)):
            if following is not None and following.effective_at == line.effective_at:
                continue  # one entry's legs, or one batch's entries: check the group's last
            at = line.effective_at
            assert line.balance_minor == book.balance(account, as_of=at).balance, (account, line)
        assert page.lines[-1].balance_minor == book.balance(account).balance
    for account in ("wallet:U1", "bank:trust"):
        effective = statement(runner, account, order="effective", limit=10_000).lines
        recorded = statement(runner, account, limit=10_000).lines
        [i] = [n for n, line in enumerate(effective) if line.command_id == backdated]
        [j] = [n for n, line in enumerate(recorded) if line.command_id == backdated]
        back = effective[i]
        assert all(line.effective_at < back.effective_at for line in effective[:i])
        assert all(line.effective_at > back.effective_at for line in effective[i + 1 :])
        assert [line.seq for line in recorded] == sorted(line.seq for line in recorded)
        assert recorded[j].seq == back.seq
    # on the wallet it is recorded after lines it now precedes: a real backdate
    effective = statement(runner, "wallet:U1", order="effective", limit=10_000).lines
    recorded = statement(runner, "wallet:U1", limit=10_000).lines
    [i] = [n for n, line in enumerate(effective) if line.command_id == backdated]
    [j] = [n for n, line in enumerate(recorded) if line.command_id == backdated]
    moved = [line for line in effective[i + 1 :] if line.seq < effective[i].seq]
    assert {"p1", "x1", "h1c"} <= {line.command_id for line in moved}
    assert {(m.seq, m.leg) for m in moved} <= {(r.seq, r.leg) for r in recorded[:j]}
    # its running balance is that of its value date, not of the log position
    assert effective[i].balance_minor == effective[i - 1].balance_minor + 7_000
    assert effective[i].balance_minor != recorded[j].balance_minor


@pytest.mark.parametrize("order", ["recorded", "effective"])
def test_statement_pages_concatenate_to_the_whole_statement(
    book: Ledger, clock: ManualClock, tmp_path: Path, order: str
) -> None:
    wallet_story(book, clock)
    runner = reads(book, tmp_path)
    for account in ("wallet:U1", "merchant:M1:payable", "bank:trust"):
        whole = statement(runner, account, order=order, limit=10_000)  # type: ignore[arg-type]
        total = len(whole.lines)
        assert total >= 3
        for limit in (*range(1, 6), total - 1, total, total + 1):
            pages = _pages(runner, account, order, limit)
            assert tuple(line for p in pages for line in p.lines) == whole.lines, limit
            assert all(len(p.lines) == limit for p in pages[:-1])
            assert 1 <= len(pages[-1].lines) <= limit
            assert len(pages) == -(-total // limit)
            opening = 0
            for p in pages:
                assert (p.account, p.currency, p.order) == (account, "THB", order)
                assert p.opening_minor == opening, (limit, p)
                opening = p.lines[-1].balance_minor
            assert opening == book.balance(account).balance


def test_statement_rejects_bad_input(book: Ledger, clock: ManualClock, tmp_path: Path) -> None:
    wallet_story(book, clock)
    runner = reads(book, tmp_path)
    with pytest.raises(UnknownAccount):
        statement(runner, "wallet:nobody")
    for kwargs in (
        {"order": "x"},
        {"limit": 0},
        {"limit": 10_001},
        {"limit": True},
        {"limit": 2.0},
        {"after": (1, 2)},
        {"after": [0, 1, 2]},
        {"after": (0, 1, "2")},
        {"after": (0, True, 2)},
        {"after": (0, 2**64, 0)},
    ):
        with pytest.raises(InvalidCommand):
            statement(runner, "wallet:U1", **kwargs)  # type: ignore[arg-type]
    for wrong in (runner.db, None, "reads.db"):
        with pytest.raises(InvalidCommand, match="Runner"):
            statement(wrong, "wallet:U1")  # type: ignore[arg-type]
        with pytest.raises(InvalidCommand, match="Runner"):
            balances_as_of(wrong, None, book.policy.timezone)  # type: ignore[arg-type]
    whole = statement(runner, "wallet:U1", limit=10_000)
    assert len(whole.lines) > 1
    first = statement(runner, "wallet:U1", limit=1)
    assert first.next_after is not None

    class Cursor(NamedTuple):
        effective_at_us: int
        seq: int
        leg: int

    rest = statement(runner, "wallet:U1", after=Cursor(*first.next_after), limit=10_000)
    assert first.lines + rest.lines == whole.lines  # a tuple of another kind is a cursor too


def test_reads_of_the_history_stop_at_the_read_models_checkpoint(
    book: Ledger, clock: ManualClock, tmp_path: Path
) -> None:
    """Statement lines and balances as of a point come from the ledger's history, bounded
    by the statements checkpoint: what a runner serves moves when it catches up, not when
    the ledger does, and a backdated posting it has not folded is not in it."""
    wallet_story(book, clock)
    zone = book.policy.timezone
    runner = reads(book, tmp_path)
    folded = runner.seq

    def served() -> tuple[object, ...]:
        return tuple(
            (
                statement(runner, account, order=order, limit=10_000),  # type: ignore[arg-type]
                balances_as_of(runner, None, zone),
                balances_as_of(runner, T0 + timedelta(days=30), zone),
                trial_balance(runner, T0.date() + timedelta(days=30), zone),
            )
            for account in STATEMENT_ACCOUNTS
            for order in ("recorded", "effective")
        )

    before = served()
    clock.now = T0 + timedelta(days=20)
    ok(book, TopUp(id="late", wallet="wallet:U1", amount_minor=7_000, channel="bank"))
    ok(
        book,
        PostEntry(
            id="backdated-late",
            kind="adjustment",
            postings=[Debit("bank:trust", 300), Credit("wallet:U1", 300)],
            effective_at=T0,
            backdated=True,
        ),
    )
    assert book.head()[0] > folded
    assert served() == before, "the ledger moved on; the read models did not"
    runner.catch_up()
    assert runner.seq == book.head()[0]
    after = served()
    assert after != before
    lines = statement(runner, "wallet:U1", order="effective", limit=10_000).lines
    assert any(line.command_id == "backdated-late" for line in lines)
    assert balances_as_of(runner, None, zone)["wallet:U1"] == book.balance("wallet:U1")


def test_a_malformed_history_row_is_a_typed_error(
    book: Ledger, clock: ManualClock, tmp_path: Path
) -> None:
    wallet_story(book, clock)
    runner = reads(book, tmp_path)
    assert statement(runner, "wallet:U1").lines
    store = book.store
    assert isinstance(store, SqliteStore)
    tamper(
        Path(store.path),
        "UPDATE account_postings SET side = 'sideways' WHERE account = 'wallet:U1'",
    )
    with pytest.raises(StoreCorrupt, match="malformed"):
        statement(runner, "wallet:U1")


def test_accounts_and_balances_now_match_the_ledger(
    book: Ledger, clock: ManualClock, tmp_path: Path
) -> None:
    wallet_story(book, clock)
    runner = reads(book, tmp_path)
    found = accounts(runner.db)
    assert [a.account for a in found] == [b.account for b in book.balances()]
    for row in found:
        account = book.account(row.account)
        assert (row.type, row.currency, row.normal_side, row.no_overdraft, row.status) == (
            account.type.value,
            account.currency,
            account.normal_side,
            account.no_overdraft,
            account.status.value,
        )
        assert row.wallet_type == account.metadata.get("wallet_type")
        assert row.tier == account.tier
    assert {a.account: (a.status, a.tier) for a in found if a.account.startswith("wallet:")} == {
        "wallet:U1": ("open", "basic"),
        "wallet:U2": ("frozen", None),
        "wallet:U9": ("open", None),
    }
    zone = book.policy.timezone
    assert balances_as_of(runner, None, zone) == {b.account: b for b in book.balances()}
    # holds H3 (pending) is in the pending counters of both sides
    assert book.balance("wallet:U1").debits_pending == 1_000
    assert balances_as_of(runner, None, zone)["wallet:U1"].available == (
        book.balance("wallet:U1").available
    )
    some = balances_as_of(runner, None, zone, ["wallet:U2", "bank:trust"])
    assert some == {a: book.balance(a) for a in ("bank:trust", "wallet:U2")}
    assert balances_as_of(runner, None, zone, iter(["wallet:U2", "bank:trust"])) == some
    # an account without postings has an empty statement in either order
    for order in ("recorded", "effective"):
        empty = statement(runner, "wallet:U9", order=order)  # type: ignore[arg-type]
        assert (empty.lines, empty.opening_minor, empty.next_after) == ((), 0, None)
    # the read models kept in the ledger's own file are the same rows
    with Runner(book) as beside:
        beside.catch_up()
        assert beside.dump() == runner.dump()
        assert (
            "proj_accounts"
            in book.store.execute(  # type: ignore[attr-defined]
                "SELECT group_concat(name) FROM sqlite_master WHERE type = 'table'"
            )[0][0]
        )
    check_as_of(book)


# --- balances and the trial balance as of any point, for random ledgers ------------------


IDS = ("a:1", "a:2", "a:3", "a:4", "a:5")


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_balances_and_trial_balance_as_of_any_point_match_the_ledger(data: st.DataObject) -> None:
    clock = ManualClock(T0, step=timedelta(seconds=3))
    with Ledger.open(":memory:", clock=clock) as book:
        opens = data.draw(
            st.lists(
                open_accounts(
                    account=st.sampled_from(IDS), currency=st.sampled_from(["THB", "JPY"])
                ),
                min_size=2,
                max_size=6,
            ),
            label="opens",
        )
        for command in opens:
            book.submit(command)
        pairs = [(b.account, b.currency) for b in book.balances()]
        accepted: list[str] = []
        backdated = 0
        for n in range(data.draw(st.integers(1, 14), label="entries")):
            if accepted and data.draw(st.integers(0, 5), label="reverse?") == 0:
                target = data.draw(st.sampled_from(accepted), label="reversed")
                book.submit(Reverse(id=f"r{n}", entry_id=target))
                continue
            entry = data.draw(
                balanced_entries(pairs, max_amount=50_000, id=st.just(f"e{n}")), label="entry"
            )
            offset = data.draw(st.none() | st.integers(-3 * 86_400, 240), label="backdate s")
            if offset is not None:
                entry = attrs.evolve(
                    entry,
                    effective_at=clock.now + timedelta(seconds=offset),
                    backdated=offset < 0,
                )
            if isinstance(book.submit(entry), Accepted):
                accepted.append(entry.id)
                if entry.effective_at is not None:
                    backdated += 1
        event(f"accepted entries: {min(len(accepted), 4)}, backdated: {min(backdated, 2)}")
        check_as_of(book)


# --- arguments of the wrong type -----------------------------------------------------------


def test_views_refuse_arguments_of_the_wrong_type(book: Ledger) -> None:
    from zoneinfo import ZoneInfo

    from projections.statements import balances_as_of, statement

    with Runner(book, ":memory:") as runner:
        runner.catch_up()
        for account in (None, 42, b"wallet:U1"):
            with pytest.raises(InvalidCommand, match="account id"):
                statement(runner, account)  # type: ignore[arg-type]
        for accounts_ in ("wallet:U1", [1, 2]):
            with pytest.raises(InvalidCommand, match="list of account ids"):
                balances_as_of(runner, None, ZoneInfo("UTC"), accounts_)  # type: ignore[arg-type]
        with pytest.raises(InvalidCommand, match="list of projection names"):
            runner.rebuild("holds")  # type: ignore[arg-type]
