"""The read models say what the write side says: statements and their running balances
(log order and effective order, paged), balances and the trial balance as of any seq,
effective time or day, holds, COD orders, loans and customer transactions — each checked
against ``Ledger`` itself (``balance(as_of=...)``, ``loans``, ``loan``, the streams and
their fold functions) on real SQLite files."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from ledger import (
    Accepted,
    AccrueInterest,
    AssignTier,
    CaptureHold,
    CodDelivered,
    CodDeliveryFailed,
    CodRefunded,
    CodReleased,
    CodRemitted,
    CodReturned,
    Command,
    Credit,
    Debit,
    DefineTier,
    DisburseLoan,
    Exchange,
    ExpireHolds,
    FreezeAccount,
    InvalidCommand,
    Ledger,
    OpenAccount,
    Pay,
    PayBill,
    PayoutMerchant,
    PlaceHold,
    PostEntry,
    ProvisionLoans,
    RecoverLoan,
    Refund,
    ReleaseHold,
    RepayLoan,
    RestructureLoan,
    Result,
    Reverse,
    SettleAgent,
    TopUp,
    Transfer,
    UnknownAccount,
    Withdraw,
    WriteOffLoan,
)
from ledger.events import (
    AccountOpened,
    CodBuyerRefunded,
    CodOrderDelivered,
    CodOrderFailed,
    CodOrderPaidOut,
    CodOrderReleased,
    CodOrderRemitted,
    CodOrderReturned,
    HoldPlaced,
    MoneyEvent,
)
from ledger.state.cod import fold_order
from ledger.state.holds import FINAL
from ledger.store.base import RecordedEvent
from ledger.testing.strategies import balanced_entries, open_accounts
from ledger.times import ManualClock, from_us, to_us
from projections.cod import order_rows
from projections.holds import HoldView, holds
from projections.loans import LoanRow, loan_rows, loan_statuses
from projections.runner import Runner
from projections.statements import (
    AsOf,
    StatementLine,
    StatementPage,
    accounts,
    balances_as_of,
    day_end_us,
    statement,
    trial_balance,
)

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
BKK = ZoneInfo("Asia/Bangkok")
US = timedelta(microseconds=1)
STEP = timedelta(seconds=2)
"""How far the injected clock moves on every read, so no two commands share a time; the
tests jump it with ``advance`` or by setting ``now``."""


def ok(book: Ledger, command: Command) -> Accepted:
    result = book.submit(command)
    assert isinstance(result, Accepted) and not result.replayed, result
    return result


def all_accepted(results: list[Result]) -> None:
    assert all(isinstance(r, Accepted) for r in results), results


def written(book: Ledger, command_id: str) -> list[RecordedEvent]:
    return [r for r in book.events() if r.command_id == command_id]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0, step=STEP)


@pytest.fixture
def book(tmp_path: Path, clock: ManualClock) -> Iterator[Ledger]:
    with Ledger.open(tmp_path / "ledger.db", clock=clock) as ledger:
        yield ledger


def test_the_injected_clock_moves_on_every_read() -> None:
    """Each read of a stepping clock moves it on first; ``now``, ``now_us`` and
    ``advance`` do not step it, and a clock with no step stands still."""
    clock = ManualClock(T0, step=STEP)
    assert (clock.now, clock.now_us) == (T0, to_us(T0))
    assert [clock(), clock()] == [T0 + STEP, T0 + 2 * STEP]
    clock.advance(timedelta(hours=1))
    assert clock.now == T0 + 2 * STEP + timedelta(hours=1)
    assert clock() == T0 + 3 * STEP + timedelta(hours=1)
    still = ManualClock(T0)
    assert [still(), still(), still.now] == [T0, T0, T0]


def reads(book: Ledger, tmp_path: Path) -> Runner:
    """A runner over ``book`` with its read models in a file of their own, caught up."""
    runner = Runner(book, tmp_path / "reads.db")
    runner.catch_up()
    return runner


# --- 1. statements ----------------------------------------------------------------------

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
        page = statement(runner.db, account, order=order, after=after, limit=limit)
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
        page = statement(runner.db, account, limit=10_000)
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
        page = statement(runner.db, account, order="effective", limit=10_000)
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
        effective = statement(runner.db, account, order="effective", limit=10_000).lines
        recorded = statement(runner.db, account, limit=10_000).lines
        [i] = [n for n, line in enumerate(effective) if line.command_id == backdated]
        [j] = [n for n, line in enumerate(recorded) if line.command_id == backdated]
        back = effective[i]
        assert all(line.effective_at < back.effective_at for line in effective[:i])
        assert all(line.effective_at > back.effective_at for line in effective[i + 1 :])
        assert [line.seq for line in recorded] == sorted(line.seq for line in recorded)
        assert recorded[j].seq == back.seq
    # on the wallet it is recorded after lines it now precedes: a real backdate
    effective = statement(runner.db, "wallet:U1", order="effective", limit=10_000).lines
    recorded = statement(runner.db, "wallet:U1", limit=10_000).lines
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
        whole = statement(runner.db, account, order=order, limit=10_000)  # type: ignore[arg-type]
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
        statement(runner.db, "wallet:nobody")
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
    ):
        with pytest.raises(InvalidCommand):
            statement(runner.db, "wallet:U1", **kwargs)  # type: ignore[arg-type]
    assert len(statement(runner.db, "wallet:U1", limit=10_000).lines) > 1


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
    assert balances_as_of(runner.db, None, zone) == {b.account: b for b in book.balances()}
    # holds H3 (pending) is in the pending counters of both sides
    assert book.balance("wallet:U1").debits_pending == 1_000
    assert balances_as_of(runner.db, None, zone)["wallet:U1"].available == (
        book.balance("wallet:U1").available
    )
    some = balances_as_of(runner.db, None, zone, ["wallet:U2", "bank:trust"])
    assert some == {a: book.balance(a) for a in ("bank:trust", "wallet:U2")}
    # an account without postings has an empty statement in either order
    for order in ("recorded", "effective"):
        empty = statement(runner.db, "wallet:U9", order=order)  # type: ignore[arg-type]
        assert (empty.lines, empty.opening_minor, empty.next_after) == ((), 0, None)
    # the read models kept in the ledger's own file are the same rows
    with Runner(book) as beside:
        beside.catch_up()
        assert beside.dump() == runner.dump()
        assert (
            "proj_postings"
            in book.store.execute(  # type: ignore[attr-defined]
                "SELECT group_concat(name) FROM sqlite_master WHERE type = 'table'"
            )[0][0]
        )
    _check_as_of(book)


# --- 2. balances and the trial balance as of any point, for random ledgers ---------------

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
        _check_as_of(book)


def _check_as_of(book: Ledger) -> None:
    zone = book.policy.timezone
    head = book.head()[0]
    events = list(book.events())
    names = [b.account for b in book.balances()]
    runner = Runner(book, ":memory:")
    runner.catch_up()
    db = runner.db

    def expect(point: AsOf | None, counts: Any, as_of: int | datetime | None) -> None:
        """``balances_as_of`` and the trial balance at ``point`` name the accounts opened
        or posted to by then (``counts`` says which events count), each with the ledger's
        own balance as of ``as_of`` (the same point, for ``Ledger.balance``)."""
        counted = [r for r in events if counts(r)]
        wanted = {r.event.account for r in counted if isinstance(r.event, AccountOpened)}
        for r in counted:
            if isinstance(r.event, MoneyEvent):
                wanted |= {p.account for p in r.event.postings}
        found = balances_as_of(db, point, zone)
        assert list(found) == sorted(wanted), point
        for account in names:
            b = book.balance(account, as_of)
            if account in found:
                assert found[account] == b, (account, point)
            else:
                assert b == book.balance(account, 0), (account, point)
        tb = trial_balance(db, point, zone)
        assert [r.account for r in tb.rows] == sorted(wanted)
        totals: dict[str, tuple[int, int]] = {}
        for row in tb.rows:
            b = book.balance(row.account, as_of)
            assert row.currency == b.currency
            assert row.type == book.account(row.account).type.value
            assert row.debit_minor - row.credit_minor == b.debits_posted - b.credits_posted
            assert min(row.debit_minor, row.credit_minor) == 0
            d, c = totals.get(row.currency, (0, 0))
            totals[row.currency] = (d + row.debit_minor, c + row.credit_minor)
        assert tb.totals == dict(sorted(totals.items()))
        assert tb.balanced and all(d == c for d, c in tb.totals.values())

    expect(None, lambda r: True, None)
    for seq in range(head + 2):
        expect(seq, lambda r, p=seq: r.seq <= p, seq)
    times = sorted({r.effective_at for r in events})
    for moment in [t + d for t in times for d in (-US, 0 * US)]:
        expect(moment, lambda r, p=moment: r.effective_at <= p, moment)
    days = sorted({t.astimezone(zone).date() + timedelta(days=k) for t in times for k in (-1, 0)})
    for day in days:
        end = from_us(day_end_us(day, zone)) - US
        expect(day, lambda r, p=end: r.effective_at <= p, end)
    dumps = set()
    for k in (1, 7, 1000):
        other = Runner(book, ":memory:", page_events=k)
        other.catch_up()
        dumps.add(other.dump())
        other.close()
    halfway = Runner(book, ":memory:", page_events=2)
    halfway.catch_up(until=head // 2)
    halfway.catch_up()
    dumps.add(halfway.dump())
    rebuilt = runner.rebuild_into(":memory:")
    dumps.add(rebuilt.dump())
    rebuilt.close()
    assert dumps == {runner.dump()}
    runner.close()


# --- 3. holds -----------------------------------------------------------------------------


def test_holds_view_follows_every_hold(book: Ledger, clock: ManualClock, tmp_path: Path) -> None:
    chart = book.chart
    all_accepted(book.open_chart())
    all_accepted(
        book.submit_many(
            [
                chart.open_wallet("wallet:U1"),
                chart.open_wallet("wallet:U2"),
                chart.open_merchant("M1"),
            ]
        )
    )
    ok(book, TopUp(id="t1", wallet="wallet:U1", amount_minor=100_000, channel="bank"))
    ok(book, TopUp(id="t2", wallet="wallet:U2", amount_minor=100_000, channel="bank"))
    payable = chart.merchant("M1")

    def place(hold: str, wallet: str, amount: int, expires: timedelta) -> None:
        ok(
            book,
            PlaceHold(
                id=f"place-{hold}",
                hold=hold,
                wallet=wallet,
                destination=payable,
                amount_minor=amount,
                expires_at=clock.now + expires,
            ),
        )

    place("H-cap", "wallet:U1", 10_000, timedelta(hours=1))
    place("H-full", "wallet:U2", 1_000, timedelta(hours=1))
    place("H-rel", "wallet:U2", 5_000, timedelta(hours=1))
    place("H-exp", "wallet:U1", 2_000, timedelta(minutes=10))
    place("H-exp2", "wallet:U2", 700, timedelta(minutes=15))
    place("H-pend", "wallet:U1", 3_000, timedelta(days=1))
    ok(book, CaptureHold(id="cap", hold="H-cap", amount_minor=4_000))
    ok(book, CaptureHold(id="full", hold="H-full"))
    ok(book, ReleaseHold(id="rel", hold="H-rel"))
    # a first look before anything expires, then catch the same runner up
    runner = reads(book, tmp_path)
    assert [v.status for v in holds(runner.db, status="pending")] == ["pending"] * 3
    clock.advance(timedelta(minutes=20))
    ok(book, ExpireHolds(id="sweep", as_of=clock.now))
    runner.catch_up()

    happened = {
        "H-cap": ("captured", 4_000, 6_000),
        "H-full": ("captured", 1_000, 0),
        "H-rel": ("released", 0, 5_000),
        "H-exp": ("expired", 0, 2_000),
        "H-exp2": ("expired", 0, 700),
        "H-pend": ("pending", 0, 0),
    }
    expected = []
    for _, records in sorted(book.store.read_streams("hold:").items()):
        placed = records[0].event
        assert isinstance(placed, HoldPlaced)
        final = records[1] if len(records) > 1 else None
        status, captured, released = happened[placed.hold]
        assert status == ("pending" if final is None else FINAL[type(final.event)])
        expected.append(
            HoldView(
                hold=placed.hold,
                wallet=placed.wallet,
                destination=placed.destination,
                amount_minor=placed.amount_minor,
                status=status,
                captured_minor=captured,
                released_minor=released,
                placed_at=records[0].effective_at,
                expires_at=placed.expires_at,
                ended_at=None if final is None else final.effective_at,
            )
        )
    assert [h.hold for h in expected] == sorted(happened)
    every = holds(runner.db)
    assert every == expected
    sweep = written(book, "sweep")
    assert {r.event.hold for r in sweep} == {"H-exp", "H-exp2"}  # type: ignore[union-attr]
    assert {v.ended_at for v in every if v.status == "expired"} == {sweep[0].effective_at}
    for wallet in ("wallet:U1", "wallet:U2", payable):
        assert holds(runner.db, wallet=wallet) == [v for v in every if v.wallet == wallet]
        pending = sum(v.amount_minor for v in every if v.wallet == wallet and v.status == "pending")
        assert book.balance(wallet).debits_pending == pending
    for status in ("pending", "captured", "released", "expired", "nothing"):
        assert holds(runner.db, status=status) == [v for v in every if v.status == status]
        for wallet in ("wallet:U1", "wallet:U2"):
            assert holds(runner.db, wallet=wallet, status=status) == [
                v for v in every if v.status == status and v.wallet == wallet
            ]
    _check_as_of(book)


# --- 4. cash on delivery ------------------------------------------------------------------

_STEP_OF = {
    CodOrderDelivered: "delivered_at_us",
    CodOrderFailed: "failed_at_us",
    CodOrderRemitted: "remitted_at_us",
    CodOrderReleased: "released_at_us",
    CodOrderPaidOut: "paid_out_at_us",
    CodOrderReturned: "returned_at_us",
    CodBuyerRefunded: "refunded_at_us",
}


def open_cod(book: Ledger) -> None:
    chart = book.chart
    all_accepted(book.open_chart(cod=True))
    all_accepted(
        book.submit_many(
            [
                *chart.open_courier("K1"),
                *chart.open_cod_merchant("M1"),
                *chart.open_cod_merchant("M2"),
                chart.open_wallet("wallet:buyer"),
                OpenAccount(
                    id="open:equity", account="equity:capital", type="equity", currency="THB"
                ),
                PostEntry(
                    id="capital",
                    kind="capital",
                    postings=[
                        Debit(chart.cod_bank, 10_000_000),
                        Credit("equity:capital", 10_000_000),
                    ],
                ),
            ]
        )
    )


def deliver(book: Ledger, order: str, merchant: str = "M1") -> None:
    ok(
        book,
        CodDelivered(
            id=f"deliver-{order}",
            order=order,
            courier="K1",
            merchant=merchant,
            amount_minor=100_000,
            commission_minor=5_000,
            shipping_minor=4_000,
            courier_fee_minor=1_000,
        ),
    )


def test_cod_orders_view_follows_each_orders_stream(
    book: Ledger, clock: ManualClock, tmp_path: Path
) -> None:
    open_cod(book)
    for order in ("O1", "O3", "O4", "O5", "O7"):
        deliver(book, order)
    deliver(book, "O2", merchant="M2")
    ok(
        book,
        CodDeliveryFailed(
            id="fail-O6", order="O6", rto_fee_minor=2_000, merchant="M1", courier="K1"
        ),
    )
    clock.advance(timedelta(hours=1))
    ok(
        book,
        CodRemitted(
            id="remit-1",
            remittance="R1",
            courier="K1",
            orders=["O2", "O3", "O5", "O7"],
            amount_minor=4 * (100_000 - 4_000 - 1_000),
        ),
    )
    runner = reads(book, tmp_path)  # part way; the rest is caught up incrementally
    clock.advance(timedelta(days=1))
    ok(book, CodReturned(id="return-O4", order="O4"))
    ok(book, CodReturned(id="return-O5", order="O5", refund_commission=False))
    ok(book, CodRefunded(id="refund-O5", order="O5", wallet="wallet:buyer"))
    clock.advance(timedelta(days=7))
    ok(book, CodReleased(id="release-1", as_of=clock.now))
    ok(book, PayoutMerchant(id="payout-M1", merchant="M1"))
    clock.advance(timedelta(days=1))
    ok(book, CodReturned(id="return-O7", order="O7"))
    ok(book, CodRefunded(id="refund-O7", order="O7"))
    runner.catch_up()

    rows = order_rows(runner.db)
    assert {r.order: r.status for r in rows} == {
        "O1": "pending",
        "O2": "available",
        "O3": "paid_out",
        "O4": "returned",
        "O5": "refunded",
        "O6": "failed",
        "O7": "refunded",
    }
    streams = book.store.read_streams("order:")
    assert [r.order for r in rows] == sorted(s.removeprefix("order:") for s in streams)
    for row in rows:
        records = streams[f"order:{row.order}"]
        folded = fold_order(row.order, [r.event for r in records])
        assert folded is not None
        assert row.status == folded.status, row.order
        steps = {step: None for step in _STEP_OF.values()}
        for r in records:
            steps[_STEP_OF[type(r.event)]] = to_us(r.effective_at)  # type: ignore[assignment]
        assert {step: getattr(row, step) for step in steps} == steps, row.order
        d = folded.delivered
        if d is None:
            failed = records[0].event
            assert isinstance(failed, CodOrderFailed)
            assert (row.merchant, row.courier, row.amount_minor) == ("M1", "K1", 0)
            assert row.return_stage is None
            continue
        assert (
            row.merchant,
            row.courier,
            row.amount_minor,
            row.commission_minor,
            row.shipping_minor,
            row.courier_fee_minor,
        ) == (
            d.merchant,
            d.courier,
            d.amount_minor,
            d.commission_minor,
            d.shipping_minor,
            d.courier_fee_minor,
        )
        returned = folded.returned
        assert row.return_stage == (None if returned is None else returned.stage)
        assert row.refund_minor == (0 if returned is None else returned.refund_minor)
    by_order = {r.order: r for r in rows}
    assert by_order["O7"].return_stage == "paid_out"
    assert by_order["O4"].return_stage == "pending"
    for status in ("pending", "available", "paid_out", "returned", "refunded", "failed"):
        assert order_rows(runner.db, status=status) == [r for r in rows if r.status == status]
    assert runner.rebuild_into(tmp_path / "again.db").dump() == runner.dump()
    _check_as_of(book)


# --- 5. loans -----------------------------------------------------------------------------


def at(day: date) -> datetime:
    return datetime.combine(day, time(12), BKK)


def test_loans_view_matches_the_ledgers_loans_on_every_day(
    book: Ledger, clock: ManualClock, tmp_path: Path
) -> None:
    clock.now = at(date(2026, 1, 15))
    chart = book.chart
    all_accepted(book.open_chart(loans=True))
    all_accepted(
        book.submit_many(
            [
                *(chart.open_wallet(f"wallet:U{n}") for n in (1, 2, 3)),
                OpenAccount(
                    id="open:equity", account="equity:capital", type="equity", currency="THB"
                ),
                PostEntry(
                    id="capital",
                    kind="capital",
                    postings=[
                        Debit(chart.loan_bank, 100_000_000),
                        Credit("equity:capital", 100_000_000),
                    ],
                ),
            ]
        )
    )

    def disburse(loan: str, n: int, principal: int, first_due: date, **kw: Any) -> None:
        ok(
            book,
            DisburseLoan(
                id=f"disburse-{loan}",
                loan=loan,
                borrower=f"U{n}",
                wallet=f"wallet:U{n}",
                principal_minor=principal,
                annual_rate_bps=2_800,
                installments=kw.pop("installments", 6),
                first_due=first_due,
                **kw,
            ),
        )

    disburse("L1", 1, 1_000_000, date(2026, 2, 15))
    clock.now = at(date(2026, 1, 20))
    disburse("L2", 2, 500_000, date(2026, 2, 20), installments=3, fee_minor=2_000)
    disburse("L3", 3, 200_000, date(2026, 2, 20), installments=2)
    clock.now = at(date(2026, 1, 31))
    ok(book, AccrueInterest(id="accrue-0131", as_of=date(2026, 1, 31)))
    runner = reads(book, tmp_path)
    clock.now = at(date(2026, 2, 15))
    ok(book, RepayLoan(id="repay-L1-1", loan="L1", amount_minor=180_539))
    clock.now = at(date(2026, 3, 10))
    ok(book, AccrueInterest(id="accrue-0310", as_of=date(2026, 3, 10)))
    ok(book, ProvisionLoans(id="provision-0310", as_of=date(2026, 3, 10)))
    clock.now = at(date(2026, 3, 16))
    ok(book, RepayLoan(id="repay-L2", loan="L2", amount_minor=50_000))
    ok(book, WriteOffLoan(id="writeoff-L3", loan="L3"))
    ok(book, RecoverLoan(id="recover-L3", loan="L3", amount_minor=10_000))
    ok(
        book,
        RestructureLoan(
            id="restructure-L2", loan="L2", installments=4, first_due=date(2026, 4, 16)
        ),
    )
    runner.catch_up()

    days = [
        date(2026, 1, 10),  # before any disbursement
        date(2026, 1, 15),
        date(2026, 1, 17),  # L1 only
        date(2026, 1, 31),
        date(2026, 2, 16),  # mid-term, L1 paid on time
        date(2026, 2, 21),  # L2 and L3 missed their first installment
        date(2026, 3, 10),
        date(2026, 3, 15),
        date(2026, 3, 16),  # after a partial repayment, a write-off, a restructure
        date(2026, 4, 30),
        date(2026, 6, 1),
    ]
    for day in days:
        assert loan_statuses(runner.db, day) == book.loans(day), day
    assert loan_statuses(runner.db, date(2026, 1, 10)) == []
    assert [s.loan for s in loan_statuses(runner.db, date(2026, 1, 17))] == ["L1"]
    late = {s.loan: s for s in loan_statuses(runner.db, date(2026, 2, 21))}
    assert late["L2"].days_past_due > 0 and late["L1"].days_past_due == 0
    assert {s.loan: s.status for s in loan_statuses(runner.db, date(2026, 3, 16))} == {
        "L1": "active",
        "L2": "active",
        "L3": "written_off",
    }

    streams = book.store.read_streams("loan:")
    rows = loan_rows(runner.db)
    assert [r.loan for r in rows] == ["L1", "L2", "L3"]
    assert [r.loan for r in loan_rows(runner.db, status="written_off")] == ["L3"]
    assert [r.loan for r in loan_rows(runner.db, borrower=rows[0].borrower)] == ["L1"]
    for row in rows:
        loan = book.loan(row.loan)
        d = loan.disbursed
        assert row == LoanRow(
            loan=loan.loan,
            borrower=d.borrower,
            wallet=d.wallet,
            principal_minor=d.principal_minor,
            disbursed_on=d.on,
            status=loan.status,
            principal_outstanding_minor=loan.principal_outstanding_minor,
            interest_outstanding_minor=loan.interest_outstanding_minor,
            default_interest_outstanding_minor=loan.default_outstanding_minor,
            allowance_minor=loan.allowance_minor,
            written_off_minor=loan.written_off_minor,
            recovered_minor=loan.recovered_minor,
            last_day=streams[f"loan:{row.loan}"][-1].event.on,  # type: ignore[union-attr]
        )
        (last_seq,) = runner.db.execute(
            "SELECT last_seq FROM proj_loans WHERE loan = ?", (row.loan,)
        ).fetchone()
        assert last_seq == streams[f"loan:{row.loan}"][-1].seq
    assert rows[0].principal_outstanding_minor == 1_000_000 - 157_206  # L1 repaid inst. 1
    assert (rows[2].status, rows[2].recovered_minor) == ("written_off", 10_000)
    assert [s.restructured for s in book.loans(date(2026, 4, 30))] == [False, True, False]
    _check_as_of(book)


# --- 6. customer transactions -------------------------------------------------------------

TX_COLUMNS = (
    "seq, effective_at, command_id, category, channel, party, counterparty, agent, cash,"
    " amount_minor, fee_minor, currency"
)


def test_one_transaction_row_per_customer_transaction(
    book: Ledger, clock: ManualClock, tmp_path: Path
) -> None:
    chart = book.chart
    agent = chart.agent("A1")
    all_accepted(book.open_chart(["USD"], cod=True, loans=True))
    all_accepted(
        book.submit_many(
            [
                *(chart.open_wallet(f"wallet:U{n}") for n in (1, 2, 4)),
                chart.open_wallet("wallet:U3:usd", "USD"),
                chart.open_merchant("M1"),
                chart.open_biller("B1"),
                chart.open_agent("A1"),
                *chart.open_courier("K1"),
                *chart.open_cod_merchant("M8"),
                *chart.open_cod_merchant("M9"),
                OpenAccount(
                    id="open:equity", account="equity:capital", type="equity", currency="THB"
                ),
                PostEntry(
                    id="capital",
                    kind="capital",
                    postings=[
                        Debit(chart.loan_bank, 10_000_000),
                        Credit("equity:capital", 10_000_000),
                    ],
                ),
            ]
        )
    )
    expected: dict[str, tuple[Any, ...]] = {}

    def tx(command: Command, *row: Any) -> None:
        ok(book, command)
        expected[command.id] = row

    # (category, channel, party, counterparty, agent, cash, amount, fee, currency)
    tx(
        TopUp(id="tb", wallet="wallet:U1", amount_minor=100_000, channel="bank", fee_minor=1_000),
        *("top_up", "bank", "wallet:U1", "bank:trust", None, 0, 100_000, 1_000, "THB"),
    )
    tx(
        TopUp(id="tp", wallet="wallet:U4", amount_minor=30_000, channel="promptpay"),
        *("top_up", "promptpay", "wallet:U4", "bank:trust", None, 0, 30_000, 0, "THB"),
    )
    tx(
        TopUp(
            id="tc",
            wallet="wallet:U2",
            amount_minor=20_000,
            channel="counter",
            funding_account=agent,
        ),
        *("top_up", "counter", "wallet:U2", agent, agent, 1, 20_000, 0, "THB"),
    )
    tx(
        TopUp(
            id="ta",
            wallet="wallet:U2",
            amount_minor=5_000,
            channel="agent",
            funding_account=agent,
            fee_minor=25,
        ),
        *("top_up", "agent", "wallet:U2", agent, agent, 1, 5_000, 25, "THB"),
    )
    tx(
        SettleAgent(id="settle", agent="A1", amount_minor=12_000),
        *("agent_settlement", None, agent, "bank:trust", agent, 0, 12_000, 0, "THB"),
    )
    tx(
        Pay(id="pay", wallet="wallet:U1", merchant="M1", amount_minor=10_000, fee_minor=200),
        *("payment", None, "wallet:U1", "M1", None, 0, 10_000, 200, "THB"),
    )
    tx(
        PayBill(
            id="bill",
            wallet="wallet:U1",
            biller="B1",
            bill_reference="INV-1",
            amount_minor=3_000,
            fee_minor=10,
        ),
        *("bill_payment", None, "wallet:U1", "B1", None, 0, 3_000, 10, "THB"),
    )
    tx(
        Transfer(id="p2p", source="wallet:U1", destination="wallet:U2", amount_minor=2_500),
        *("p2p", None, "wallet:U1", "wallet:U2", None, 0, 2_500, 0, "THB"),
    )
    tx(
        Withdraw(id="wd", wallet="wallet:U1", amount_minor=4_000, fee_minor=50),
        *("cash_out", None, "wallet:U1", "", None, 0, 4_000, 50, "THB"),
    )
    tx(
        Refund(id="rf", payment="pay", amount_minor=5_000),
        *("refund", None, "wallet:U1", "M1", None, 0, 5_000, 100, "THB"),
    )
    payable = chart.merchant("M1")
    expires = clock.now + timedelta(hours=1)
    ok(
        book,
        PlaceHold(
            id="hp",
            hold="H1",
            wallet="wallet:U1",
            destination=payable,
            amount_minor=6_000,
            expires_at=expires,
        ),
    )
    ok(
        book,
        PlaceHold(
            id="hp2",
            hold="H2",
            wallet="wallet:U2",
            destination=payable,
            amount_minor=1_000,
            expires_at=expires,
        ),
    )
    ok(book, ReleaseHold(id="hr2", hold="H2"))
    tx(
        CaptureHold(id="hc", hold="H1", amount_minor=4_000),
        *("hold_capture", None, "wallet:U1", payable, None, 0, 4_000, 0, "THB"),
    )
    tx(
        Exchange(
            id="fx",
            source="wallet:U1",
            destination="wallet:U3:usd",
            sell_amount_minor=3_500,
            buy_amount_minor=100,
        ),
        *("exchange", None, "wallet:U1", "wallet:U3:usd", None, 0, 3_500, 0, "THB"),
    )
    today = book.today()
    tx(
        DisburseLoan(
            id="loan",
            loan="L1",
            borrower="U4",
            wallet="wallet:U4",
            principal_minor=100_000,
            annual_rate_bps=2_800,
            installments=4,
            first_due=today + timedelta(days=7),
            frequency="weekly",
            fee_minor=100,
        ),
        *("loan_disbursement", None, "wallet:U4", "L1", None, 0, 100_000, 100, "THB"),
    )
    # journal entries, even of a customer-looking kind, and their reversals are not
    ok(
        book,
        PostEntry(
            id="journal",
            kind="top_up",
            postings=[Debit("bank:trust", 700), Credit("wallet:U2", 700)],
        ),
    )
    ok(book, Reverse(id="journal-back", entry_id="journal"))
    for order, merchant in (("O1", "M8"), ("O2", "M9")):
        ok(
            book,
            CodDelivered(
                id=f"deliver-{order}",
                order=order,
                courier="K1",
                merchant=merchant,
                amount_minor=50_000,
                commission_minor=2_000,
                shipping_minor=3_000,
            ),
        )
    ok(
        book,
        CodRemitted(
            id="remit", remittance="R1", courier="K1", orders=["O1", "O2"], amount_minor=94_000
        ),
    )
    clock.advance(timedelta(days=8))
    ok(book, CodReleased(id="release", as_of=clock.now))
    ok(book, AccrueInterest(id="accrue", as_of=book.today()))
    tx(
        RepayLoan(id="repay", loan="L1", amount_minor=10_000),
        *("loan_repayment", None, "wallet:U4", "L1", None, 0, 10_000, 0, "THB"),
    )
    tx(
        PayoutMerchant(id="payout-bank", merchant="M8"),
        *("merchant_payout", "bank", "M8", "bank", None, 0, 45_000, 0, "THB"),
    )
    tx(
        PayoutMerchant(id="payout-wallet", merchant="M9", to="wallet"),
        *("merchant_payout", "wallet", "M9", "wallet", None, 0, 45_000, 0, "THB"),
    )
    runner = reads(book, tmp_path)

    rows = runner.db.execute(f"SELECT {TX_COLUMNS} FROM proj_transactions ORDER BY seq").fetchall()
    ids = [r[2] for r in rows]
    assert sorted(ids) == sorted(expected), "one row per customer transaction, no other"
    for seq, effective_at, command_id, *row in rows:
        assert tuple(row) == expected[command_id], command_id
        records = [r for r in written(book, command_id) if isinstance(r.event, MoneyEvent)]
        # the row is the command's own money event (a repayment accrues first)
        assert seq == records[-1].seq
        assert effective_at == to_us(records[-1].effective_at)
    categories = {r[3] for r in rows}
    assert categories == {
        "top_up",
        "agent_settlement",
        "payment",
        "bill_payment",
        "p2p",
        "cash_out",
        "refund",
        "hold_capture",
        "exchange",
        "loan_disbursement",
        "loan_repayment",
        "merchant_payout",
    }
    _check_as_of(book)


def test_a_reversed_customer_transaction_is_a_reversal_row(tmp_path: Path) -> None:
    """A ``Reverse`` of a top-up writes a ``reversal`` row carrying the original's customer,
    counterparty, amount and fee, with its category as the channel and no cash; the
    reversal of a plain journal entry writes nothing."""
    from ledger import Reverse

    with Ledger.open(tmp_path / "rev.db", clock=ManualClock(T0, step=STEP)) as book:
        chart = book.chart
        book.open_chart()
        book.submit_many([chart.open_wallet("wallet:U1"), chart.open_agent("A1")])
        agent = chart.agent("A1")
        top = TopUp(
            id="cash-in",
            wallet="wallet:U1",
            amount_minor=40_000,
            channel="counter",
            funding_account=agent,
            fee_minor=100,
        )
        journal = PostEntry(
            id="j1",
            kind="adjustment",
            postings=[Debit("bank:trust", 500), Credit("wallet:U1", 500)],
        )
        assert isinstance(book.submit(top), Accepted)
        assert isinstance(book.submit(journal), Accepted)
        undo = book.submit(Reverse(id="undo", entry_id="cash-in"))
        assert isinstance(undo, Accepted)
        assert isinstance(book.submit(Reverse(id="undo-j", entry_id="j1")), Accepted)
        with Runner(book, ":memory:") as runner:
            runner.catch_up()
            rows = runner.db.execute(
                "SELECT seq, command_id, category, channel, party, counterparty, agent, cash,"
                " amount_minor, fee_minor FROM proj_transactions ORDER BY seq"
            ).fetchall()
    assert [r[1:] for r in rows] == [
        ("cash-in", "top_up", "counter", "wallet:U1", agent, agent, 1, 40_000, 100),
        ("undo", "reversal", "top_up", "wallet:U1", agent, agent, 0, 40_000, 100),
    ]
    assert rows[1][0] == undo.seq


def test_views_refuse_arguments_of_the_wrong_type(book: Ledger) -> None:
    from zoneinfo import ZoneInfo

    from projections.statements import balances_as_of, statement

    with Runner(book, ":memory:") as runner:
        runner.catch_up()
        for account in (None, 42, b"wallet:U1"):
            with pytest.raises(InvalidCommand, match="account id"):
                statement(runner.db, account)  # type: ignore[arg-type]
        for accounts_ in ("wallet:U1", [1, 2]):
            with pytest.raises(InvalidCommand, match="list of account ids"):
                balances_as_of(runner.db, None, ZoneInfo("UTC"), accounts_)  # type: ignore[arg-type]
        with pytest.raises(InvalidCommand, match="list of projection names"):
            runner.rebuild("holds")  # type: ignore[arg-type]
