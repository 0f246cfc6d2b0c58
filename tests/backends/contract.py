"""The store contract: what every backend must do, written once.

A backend's test module subclasses :class:`StoreContract` and provides ``open_book``
(and ``reopen_book`` if the store persists). Nothing here knows which backend it runs on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest

from ledger import (
    Accepted,
    Credit,
    Debit,
    InvalidCommand,
    Ledger,
    OpenAccount,
    PostEntry,
    RejectCode,
    Rejected,
    Reverse,
    StoreError,
)
from ledger.accounts import Counters
from ledger.events import EntryPosted, Posting
from ledger.policy import Policy
from ledger.state import NewEvent
from ledger.store.base import GENESIS_HASH, chain_hash
from ledger.times import ManualClock, to_us

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


Clock = ManualClock
"""The clock the tests move by hand (the name the backends' test modules annotate with)."""


def chart() -> list[OpenAccount]:
    return [
        OpenAccount(id="o-bank", account="bank:trust", type="asset", currency="THB"),
        OpenAccount(
            id="o-u1", account="wallet:U1", type="liability", currency="THB", no_overdraft=True
        ),
        OpenAccount(
            id="o-u2", account="wallet:U2", type="liability", currency="THB", no_overdraft=True
        ),
    ]


def transfer(cid: str, source: str, to: str, amount: int) -> PostEntry:
    return PostEntry(id=cid, kind="p2p", postings=[Debit(source, amount), Credit(to, amount)])


def top_up(cid: str, wallet: str, amount: int, **kw: object) -> PostEntry:
    return PostEntry(
        id=cid, kind="top_up", postings=[Debit("bank:trust", amount), Credit(wallet, amount)], **kw
    )


class StoreContract:
    """Subclass and implement ``open_book``; every test here must pass unchanged."""

    def open_book(self, clock: ManualClock) -> Ledger:
        raise AssertionError("a backend's test class provides open_book")

    def reopen_book(self, book: Ledger, clock: ManualClock) -> Ledger:
        raise AssertionError("a persistent backend's test class provides reopen_book")

    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(T0)

    @pytest.fixture
    def book(self, clock: ManualClock) -> Ledger:
        book = self.open_book(clock)
        assert all(isinstance(r, Accepted) for r in book.submit_many(chart()))
        yield book
        book.close()

    def test_seq_is_gapless_and_ordered(self, book: Ledger) -> None:
        for i in range(20):
            book.submit(top_up(f"t{i}", "wallet:U1", 100 + i))
        seqs = [rec.seq for rec in book.events()]
        assert seqs == list(range(1, len(seqs) + 1))
        assert book.head()[0] == seqs[-1] == 23

    def test_events_after_and_limit_page_correctly(self, book: Ledger) -> None:
        book.submit_many([top_up(f"t{i}", "wallet:U1", 5) for i in range(2_500)])
        assert [r.seq for r in book.events(after=2_000, limit=3)] == [2_001, 2_002, 2_003]
        assert sum(1 for _ in book.events(after=10)) == 2_503 - 10
        assert list(book.events(after=2_503)) == []

    def test_recorded_event_fields(self, book: Ledger, clock: ManualClock) -> None:
        clock.now = T0 + timedelta(hours=1)
        backdated = T0 - timedelta(days=2)
        r = book.submit(
            top_up("t1", "wallet:U1", 12_345, effective_at=backdated, backdated=True, memo="hi")
        )
        assert isinstance(r, Accepted)
        (rec,) = list(book.events(after=r.seq - 1))
        assert (rec.seq, rec.stream, rec.version, rec.command_id) == (r.seq, "entry:t1", 1, "t1")
        assert rec.type == "entry_posted" and rec.schema == EntryPosted.SCHEMA == 2
        assert rec.recorded_at == clock.now and rec.effective_at == backdated
        assert isinstance(rec.event, EntryPosted)
        assert rec.event.postings == (
            Posting(account="bank:trust", side="debit", amount_minor=12_345, currency="THB"),
            Posting(account="wallet:U1", side="credit", amount_minor=12_345, currency="THB"),
        )
        assert rec.event.memo == "hi" and rec.event.kind == "top_up"

    def test_hash_chain_links_every_row(self, book: Ledger) -> None:
        for i in range(5):
            book.submit(top_up(f"t{i}", "wallet:U2", 1_000))
        previous = GENESIS_HASH
        for rec in book.events():
            expected = chain_hash(
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
            assert rec.hash == expected.hex()
            previous = expected
        assert book.head()[1] == previous.hex()

    def test_idempotent_retry_returns_first_seq_and_writes_nothing(self, book: Ledger) -> None:
        first = book.submit(top_up("t1", "wallet:U1", 500))
        head = book.head()
        again = book.submit(top_up("t1", "wallet:U1", 500))
        assert again == Accepted("t1", first.seq, replayed=True)
        assert book.head() == head
        other = book.submit(top_up("t1", "wallet:U1", 501))
        assert isinstance(other, Rejected) and other.code is RejectCode.IDEMPOTENCY_CONFLICT
        assert book.head() == head and book.balance("wallet:U1").balance == 500

    def test_duplicate_id_inside_one_batch_posts_once(self, book: Ledger) -> None:
        results = book.submit_many([top_up("t1", "wallet:U1", 7), top_up("t1", "wallet:U1", 7)])
        assert results[1] == Accepted("t1", results[0].seq, replayed=True)
        assert book.balance("wallet:U1").balance == 7

    def test_exception_mid_batch_rolls_back_everything(self, book: Ledger) -> None:
        head = book.head()

        class Boom(Exception):
            pass

        with pytest.raises(Boom), book.store.transaction(to_us(T0), Policy()) as tx:
            tx.append("x1", b"d" * 32, [_entry_event("x1", 10)])
            raise Boom
        assert book.head() == head
        assert book.balance("wallet:U1").balance == 0
        assert isinstance(book.submit(top_up("x1", "wallet:U1", 10)), Accepted)

    def test_aborted_transaction_leaves_nothing(self, book: Ledger) -> None:
        head = book.head()
        with book.store.transaction(to_us(T0), Policy()) as tx:
            tx.append("x1", b"d" * 32, [_entry_event("x1", 10)])
            tx.abort()
        assert book.head() == head and book.balance("wallet:U1").balance == 0

    def test_stream_version_is_unique(self, book: Ledger) -> None:
        book.submit(top_up("t1", "wallet:U1", 10))
        head = book.head()
        with pytest.raises(StoreError), book.store.transaction(to_us(T0), Policy()) as tx:
            tx.append("t1-dup", b"d" * 32, [_entry_event("t1", 10)])
        assert book.head() == head

    def test_command_id_is_unique(self, book: Ledger) -> None:
        book.submit(top_up("t1", "wallet:U1", 10))
        with pytest.raises(StoreError), book.store.transaction(to_us(T0), Policy()) as tx:
            tx.append("t1", b"d" * 32, [_entry_event("other", 10)])

    def test_balance_as_of_seq_and_time(self, book: Ledger, clock: ManualClock) -> None:
        s1 = book.submit(top_up("t1", "wallet:U1", 1_000)).seq
        clock.now = T0 + timedelta(days=1)
        s2 = book.submit(top_up("t2", "wallet:U1", 2_000)).seq
        book.submit(
            top_up("t3", "wallet:U1", 4_000, effective_at=T0 - timedelta(hours=1), backdated=True)
        )
        assert book.balance("wallet:U1", as_of=s1 - 1).balance == 0
        assert book.balance("wallet:U1", as_of=s1).balance == 1_000
        assert book.balance("wallet:U1", as_of=s2).balance == 3_000
        assert book.balance("wallet:U1").balance == 7_000
        assert book.balance("wallet:U1", as_of=T0 - timedelta(hours=2)).balance == 0
        assert book.balance("wallet:U1", as_of=T0).balance == 5_000
        assert book.balance("wallet:U1", as_of=T0 + timedelta(days=1)).balance == 7_000

    def test_rebuilt_balances_equal_inline(self, book: Ledger) -> None:
        from projections import rebuild

        for i in range(30):
            book.submit(top_up(f"t{i}", f"wallet:U{1 + i % 2}", 100 * (i + 1)))
            book.submit(
                PostEntry(
                    id=f"p{i}",
                    kind="p2p",
                    postings=[Debit("wallet:U1", 50 * i + 1), Credit("wallet:U2", 50 * i + 1)],
                )
            )
        book.submit(Reverse(id="r1", entry_id="t3"))
        assert rebuild(book.events()) == {b.account: b for b in book.balances()}
        raw = [(r.seq, r.recorded_at_us, r.effective_at_us) for r in book.events(after=5)]
        assert raw == [
            (r.seq, to_us(r.recorded_at), to_us(r.effective_at)) for r in book.events(after=5)
        ]

    def test_state_reads_see_the_transactions_own_appends(self, book: Ledger) -> None:
        """Inside one write transaction, a decide function sees what earlier commands of
        the same batch appended: streams, latest events per prefix, posted debits."""
        book.submit(top_up("t1", "wallet:U1", 500))
        since = to_us(T0)
        with book.store.transaction(to_us(T0), Policy()) as tx:
            assert [type(e) for e in tx.stream_events("entry:t1")] == [EntryPosted]
            assert tx.stream_events("entry:x1") == []
            assert tx.posted_debits_since("bank:trust", since) == 500
            tx.append("x1", b"d" * 32, [_entry_event("x1", 70)])
            assert [e.entry_id for e in tx.stream_events("entry:x1")] == ["x1"]  # type: ignore[union-attr]
            assert sorted(tx.latest_events("entry:")) == ["entry:t1", "entry:x1"]
            assert list(tx.latest_events("entry:x")) == ["entry:x1"]
            assert tx.latest_events("hold:") == {}
            assert tx.posted_debits_since("bank:trust", since) == 570
            assert tx.posted_debits_since("bank:trust", since + 1) == 0
            assert tx.posted_debits_since("wallet:U1", since) == 0
            tx.abort()
        with book.store.transaction(to_us(T0), Policy()) as tx:
            assert tx.stream_events("entry:x1") == []
            assert tx.posted_debits_since("bank:trust", since) == 500
            tx.abort()

    def test_a_commands_events_are_the_seqs_the_idempotency_index_holds(self, book: Ledger) -> None:
        """A command's events (what Reverse reads) are found through the idempotency
        index's first..last seq: the same events a scan of the log by command id finds,
        for a command of one event and of several, and none for an id never accepted."""
        book.submit(top_up("t1", "wallet:U1", 500))
        book.submit_many([top_up("t2", "wallet:U1", 5), top_up("t3", "wallet:U2", 7)])
        with book.store.transaction(to_us(T0), Policy()) as tx:
            tx.append("multi", b"m" * 32, [_entry_event("m1", 1), _entry_event("m2", 2)])
        scanned: dict[str, list[object]] = {}
        for record in book.events():
            scanned.setdefault(record.command_id, []).append(record.event)
        assert len(scanned["multi"]) == 2
        with book.store.transaction(to_us(T0), Policy()) as tx:
            for command_id, events in scanned.items():
                assert tx.command_events(command_id) == events, command_id
            assert tx.command_events("never-accepted") == []
            tx.abort()

    def test_latest_events_is_the_last_version_of_each_stream(self, book: Ledger) -> None:
        from ledger import PlaceHold, ReleaseHold

        book.submit(top_up("t1", "wallet:U1", 1_000))
        until = T0 + timedelta(hours=1)
        for hold in ("A", "B", "B2"):
            book.submit(
                PlaceHold(
                    id=f"h{hold}",
                    hold=hold,
                    wallet="wallet:U1",
                    destination="wallet:U2",
                    amount_minor=100,
                    expires_at=until,
                )
            )
        book.submit(ReleaseHold(id="rA", hold="A"))
        with book.store.transaction(to_us(T0), Policy()) as tx:
            latest = tx.latest_events("hold:")
            tx.abort()
        assert {s: type(e).__name__ for s, e in latest.items()} == {
            "hold:A": "HoldReleased",
            "hold:B": "HoldPlaced",
            "hold:B2": "HoldPlaced",
        }

    def test_read_streams_is_every_committed_event_by_stream(self, book: Ledger) -> None:
        from ledger import PlaceHold, ReleaseHold

        book.submit(top_up("t1", "wallet:U1", 1_000))
        for hold in ("A", "B", "B2"):
            book.submit(
                PlaceHold(
                    id=f"h{hold}",
                    hold=hold,
                    wallet="wallet:U1",
                    destination="wallet:U2",
                    amount_minor=100,
                    expires_at=T0 + timedelta(hours=1),
                )
            )
        book.submit(ReleaseHold(id="rA", hold="A"))
        streams = book.store.read_streams("hold:")
        assert {s: [(r.version, r.type) for r in rows] for s, rows in streams.items()} == {
            "hold:A": [(1, "hold_placed"), (2, "hold_released")],
            "hold:B": [(1, "hold_placed")],
            "hold:B2": [(1, "hold_placed")],
        }
        assert list(book.store.read_streams("hold:B")) == ["hold:B", "hold:B2"]
        assert book.store.read_streams("loan:") == {}
        with book.store.transaction(to_us(T0), Policy()) as tx:  # uncommitted: not seen
            tx.append("x1", b"d" * 32, [_entry_event("x1", 70)])
            assert "entry:x1" not in book.store.read_streams("entry:")
            tx.abort()
        with pytest.raises(ValueError):
            book.store.read_streams("")

    def test_pending_counters_and_their_history(self, book: Ledger, clock: ManualClock) -> None:
        from ledger import CaptureHold, PlaceHold

        book.submit(top_up("t1", "wallet:U1", 1_000))
        placed = book.submit(
            PlaceHold(
                id="h1",
                hold="H1",
                wallet="wallet:U1",
                destination="wallet:U2",
                amount_minor=600,
                expires_at=T0 + timedelta(days=2),
            )
        ).seq
        clock.now = T0 + timedelta(hours=1)
        book.submit(CaptureHold(id="c1", hold="H1", amount_minor=250))
        now = book.balance("wallet:U1")
        assert (now.balance, now.available, now.debits_pending) == (750, 750, 0)
        then = book.balance("wallet:U1", as_of=placed)
        assert (then.balance, then.available, then.debits_pending) == (1_000, 400, 600)
        at = book.balance("wallet:U1", as_of=T0 + timedelta(minutes=30))
        assert (at.balance, at.available, at.debits_pending) == (1_000, 400, 600)
        assert book.balance("wallet:U2", as_of=T0).credits_pending == 600
        assert book.balance("wallet:U2").credits_pending == 0

    def test_the_history_pages_and_sums_are_the_log_folded(
        self, book: Ledger, clock: ManualClock
    ) -> None:
        """``history_page`` in both orders, page after page, and ``history_sums`` at every
        seq and effective time, against the legs of the log folded here."""
        from ledger import PlaceHold, ReleaseHold

        book.submit(top_up("t1", "wallet:U1", 1_000))
        book.submit(
            PlaceHold(
                id="h1",
                hold="H1",
                wallet="wallet:U1",
                destination="wallet:U2",
                amount_minor=300,
                expires_at=T0 + timedelta(days=2),
            )
        )
        for i in range(6):
            clock.now = T0 + timedelta(hours=i + 1)
            book.submit(transfer(f"p{i}", "wallet:U1", "wallet:U2", 10 + i))
        book.submit(ReleaseHold(id="r1", hold="H1"))
        book.submit(
            top_up("t2", "wallet:U1", 500, effective_at=T0 - timedelta(hours=1), backdated=True)
        )
        head = book.head()[0]
        legs = [
            (p.account, r.seq, leg, to_us(r.effective_at), r, p)
            for r in book.events()
            if hasattr(r.event, "postings")
            for leg, p in enumerate(r.event.postings)
        ]
        for account in ("wallet:U1", "wallet:U2", "bank:trust"):
            mine = [x for x in legs if x[0] == account]
            for order in ("recorded", "effective"):
                if order == "effective":
                    mine.sort(key=lambda x: (x[3], x[1], x[2]))
                for upto in (head, head - 3):
                    wanted = [x for x in mine if x[1] <= upto]
                    after = None
                    for start in range(0, len(wanted) + 1, 2):
                        opening, page = book.history_page(account, order, after, 2, upto)
                        got = [(line.seq, line.leg) for line in page]
                        assert got == [(x[1], x[2]) for x in wanted[start : start + 2]]
                        before = wanted[:start]
                        assert opening.debits_posted == sum(
                            x[5].amount_minor
                            for x in before
                            if x[5].side == "debit" and x[5].phase == "posted"
                        )
                        assert opening.credits_posted == sum(
                            x[5].amount_minor
                            for x in before
                            if x[5].side == "credit" and x[5].phase == "posted"
                        )
                        for side, field in (
                            ("debit", "debits_pending"),
                            ("credit", "credits_pending"),
                        ):
                            held = sum(
                                x[5].amount_minor * (1 if x[5].phase == "pending" else -1)
                                for x in before
                                if x[5].side == side and x[5].phase != "posted"
                            )
                            assert getattr(opening, field) == held, (account, order, upto, field)
                        for line, x in zip(page, wanted[start : start + 2], strict=True):
                            record, posting = x[4], x[5]
                            assert (line.type, line.command_id, line.recorded_at_us) == (
                                record.type,
                                record.command_id,
                                to_us(record.recorded_at),
                            )
                            assert (line.side, line.phase, line.amount_minor) == (
                                posting.side,
                                posting.phase,
                                posting.amount_minor,
                            )
                            assert line.accounts == tuple(
                                dict.fromkeys(q.account for q in record.event.postings)
                            )
                        if page:
                            last = page[-1]
                            after = (last.effective_at_us, last.seq, last.leg)
        times = sorted({x[3] for x in legs})
        for upto in range(head + 1):
            for effective in (None, *times):
                sums = book.history_sums(upto, effective, None)
                counted = {
                    x[0] for x in legs if x[1] <= upto and (effective is None or x[3] <= effective)
                }
                assert set(sums) == counted
                for account in counted:
                    if effective is None:
                        assert sums[account] == book.store.counters_at_seq(account, upto)
                    elif upto == head:
                        assert sums[account] == book.store.counters_at_time(account, effective)
                only = book.history_sums(upto, effective, ["wallet:U2", "wallet:nobody"])
                assert only == {a: c for a, c in sums.items() if a == "wallet:U2"}

    def test_history_sums_over_many_accounts_and_a_release_dated_before_its_hold(
        self, book: Ledger, clock: ManualClock
    ) -> None:
        """``history_sums`` of more accounts than one query names (they go 500 at a time);
        and sums by effective time where a hold was released at an effective time before
        it was placed (a clock stepped back): pending below zero in between, read as it
        is, never taken for a damaged file."""
        from ledger import PlaceHold, ReleaseHold

        wallets = [f"wallet:M{n:04}" for n in range(1_201)]
        opened = [
            OpenAccount(id=f"o-{w}", account=w, type="liability", currency="THB") for w in wallets
        ]
        for start in range(0, len(opened), 600):
            assert all(
                isinstance(r, Accepted) for r in book.submit_many(opened[start : start + 600])
            )
        funded = [top_up(f"t-{w}", w, 100 + n) for n, w in enumerate(wallets)]
        for start in range(0, len(funded), 600):
            assert all(
                isinstance(r, Accepted) for r in book.submit_many(funded[start : start + 600])
            )
        head = book.head()[0]
        every = book.history_sums(head, None, None)
        some = book.history_sums(head, None, [*wallets, "wallet:nobody", wallets[0]])
        assert some == {w: every[w] for w in wallets}
        assert book.history_sums(head, None, (w for w in wallets)) == some  # read once
        assert [some[w].credits_posted for w in wallets] == [100 + n for n in range(1_201)]

        book.submit(top_up("t-skew", "wallet:U1", 1_000))
        clock.now = T0 + timedelta(hours=2)
        book.submit(
            PlaceHold(
                id="h-skew",
                hold="HS",
                wallet="wallet:U1",
                destination="wallet:U2",
                amount_minor=300,
                expires_at=T0 + timedelta(days=2),
            )
        )
        clock.now = T0 + timedelta(hours=1)  # the clock steps back an hour
        assert isinstance(book.submit(ReleaseHold(id="r-skew", hold="HS")), Accepted)
        between = T0 + timedelta(minutes=90)
        sums = book.history_sums(book.head()[0], to_us(between), ["wallet:U1"])
        assert sums["wallet:U1"].debits_pending == -300
        assert book.balance("wallet:U1", as_of=between).debits_pending == -300
        assert book.balance("wallet:U1").debits_pending == 0

    def test_history_reads_refuse_arguments_of_the_wrong_kind(self, book: Ledger) -> None:
        head = book.head()[0]
        for args in (
            (None, "recorded", None, 10, head),
            ("wallet:U1", "bogus", None, 10, head),
            ("wallet:U1", "recorded", "abc", 10, head),
            ("wallet:U1", "recorded", (0, 1), 10, head),
            ("wallet:U1", "recorded", (0, 2**64, 0), 10, head),
            ("wallet:U1", "recorded", (0, True, 0), 10, head),
            ("wallet:U1", "recorded", None, 0, head),
            ("wallet:U1", "recorded", None, -1, head),
            ("wallet:U1", "recorded", None, None, head),
            ("wallet:U1", "recorded", None, 10, "9"),
            ("wallet:U1", "recorded", None, 10, -1),
            ("wallet:U1", "recorded", None, 10, 2**64),
        ):
            with pytest.raises(InvalidCommand):
                book.history_page(*args)  # type: ignore[arg-type]
        for sums in (
            ("9", None, None),
            (head, 1.5, None),
            (head, 2**64, None),
            (head, None, "wallet:U1"),
            (head, None, ["wallet:U1", 1]),
            (head, None, 5),
        ):
            with pytest.raises(InvalidCommand):
                book.history_sums(*sums)  # type: ignore[arg-type]
        assert book.history_page("wallet:U1", "recorded", None, 10, head) == (Counters(), [])

    def test_a_refusal_on_the_books_is_recorded_and_replayed(self, book: Ledger) -> None:
        book.submit(top_up("t1", "wallet:U1", 500))
        spend = transfer("s1", "wallet:U1", "wallet:U2", 900)
        first = book.submit(spend)
        assert isinstance(first, Rejected) and first.code is RejectCode.INSUFFICIENT_FUNDS
        assert first.subject == "wallet:U1" and not first.replayed
        head = book.head()
        book.submit(top_up("t2", "wallet:U1", 5_000))  # the payment would pass now
        again = book.submit(spend)
        assert again == attrs.evolve(first, replayed=True)
        assert book.balance("wallet:U1").balance == 5_500 and book.head()[0] == head[0] + 1
        other = book.submit(transfer("s1", "wallet:U1", "wallet:U2", 90))
        assert isinstance(other, Rejected) and other.code is RejectCode.IDEMPOTENCY_CONFLICT
        assert book.result("s1") == again
        [row] = book.store.refusal_rows()
        assert (row.n, row.command_id, row.code, row.head_seq) == (1, "s1", "insufficient_funds", 4)

    def test_only_a_command_that_reached_decide_is_recorded(self, book: Ledger) -> None:
        bad_id = book.submit(top_up("not a valid id!", "wallet:U1", 10))
        assert isinstance(bad_id, Rejected) and bad_id.code is RejectCode.ID_INVALID
        zero = book.submit(top_up("m1", "wallet:U1", 0))  # decided, refused on its face
        assert isinstance(zero, Rejected) and zero.code is RejectCode.AMOUNT_INVALID
        assert [r.command_id for r in book.store.refusal_rows()] == ["m1"]
        assert book.submit(top_up("m1", "wallet:U1", 0)) == attrs.evolve(zero, replayed=True)
        other = book.submit(top_up("m1", "wallet:U1", 10))
        assert isinstance(other, Rejected) and other.code is RejectCode.IDEMPOTENCY_CONFLICT

    def test_refusals_take_no_seq(self, book: Ledger) -> None:
        head = book.head()
        results = book.submit_many(
            [transfer(f"r{i}", "wallet:U1", "wallet:U2", 10) for i in range(5)]
        )
        assert all(r.code is RejectCode.INSUFFICIENT_FUNDS for r in results)  # type: ignore[union-attr]
        assert book.head() == head
        assert [r.n for r in book.store.refusal_rows()] == [1, 2, 3, 4, 5]

    def test_a_linked_batch_records_a_refusal_decided_on_the_committed_books(
        self, book: Ledger
    ) -> None:
        head = book.head()
        batch = [transfer("l2", "wallet:U2", "wallet:U1", 10**6), top_up("l1", "wallet:U1", 50)]
        results = book.submit_many(batch, linked=True)
        assert [r.code for r in results] == [  # type: ignore[union-attr]
            RejectCode.INSUFFICIENT_FUNDS,
            RejectCode.LINKED_COMMAND_FAILED,
        ]
        assert book.head() == head and book.balance("wallet:U1").balance == 0
        assert book.result("l1") is None
        assert book.result("l2") == attrs.evolve(results[0], replayed=True)
        again = book.submit_many(batch, linked=True)  # the same batch fails the same way
        assert again == [attrs.evolve(results[0], replayed=True), results[1]]
        assert isinstance(book.submit(batch[1]), Accepted)  # alone, l1 was never refused

    def test_a_linked_batch_does_not_record_a_refusal_decided_on_its_own_appends(
        self, book: Ledger
    ) -> None:
        """U2 holds 500; the batch spends it, then 100 more. The second is refused only on
        the batch's first spend, which is rolled back: on the books it was never refused."""
        book.submit(top_up("t2", "wallet:U2", 500))
        batch = [
            transfer("l1", "wallet:U2", "wallet:U1", 500),
            transfer("l2", "wallet:U2", "wallet:U1", 100),
        ]
        results = book.submit_many(batch, linked=True)
        assert [r.code for r in results] == [  # type: ignore[union-attr]
            RejectCode.LINKED_COMMAND_FAILED,
            RejectCode.INSUFFICIENT_FUNDS,
        ]
        assert book.result("l1") is None and book.result("l2") is None
        assert list(book.store.refusal_rows()) == []
        alone = book.submit(batch[1])
        assert isinstance(alone, Accepted) and book.balance("wallet:U2").balance == 400

    def test_a_duplicate_in_a_batch_gets_the_same_answer_as_a_later_retry(
        self, book: Ledger
    ) -> None:
        first, again = book.submit_many(
            [top_up("t1", "wallet:U1", 7), top_up("t1", "wallet:U1", 7)]
        )
        later = book.submit(top_up("t1", "wallet:U1", 7))
        assert isinstance(again, Accepted) and isinstance(later, Accepted)
        assert again.replayed and again.balances == first.balances == later.balances
        assert len(first.balances) == 2

    def test_accepted_carries_the_balances_as_of_the_command(self, book: Ledger) -> None:
        first = book.submit(top_up("t1", "wallet:U1", 500))
        assert isinstance(first, Accepted)
        assert [(b.account, b.balance) for b in first.balances] == [
            ("bank:trust", 500),
            ("wallet:U1", 500),
        ]
        book.submit(top_up("t2", "wallet:U1", 1))
        replay = book.submit(top_up("t1", "wallet:U1", 500))
        assert replay.balances == first.balances  # as of t1, not now
        found = book.result("t1")
        assert isinstance(found, Accepted) and found.replayed and found.seq == first.seq
        assert found.balances == first.balances
        assert book.result("nothing-by-this-id") is None

    def test_the_time_zone_is_recorded_once(self, book: Ledger) -> None:
        assert book.recorded_timezone == "Asia/Bangkok"
        book.record_timezone("Asia/Bangkok")  # the same again: nothing to do
        with pytest.raises(InvalidCommand):
            book.record_timezone("Asia/Tokyo")
        assert book.recorded_timezone == "Asia/Bangkok"


class PersistentStoreContract(StoreContract):
    """What a store that outlives its process must do besides: reopen to the same state."""

    def test_two_ledgers_refusing_in_turn_keep_one_record(
        self, book: Ledger, clock: ManualClock
    ) -> None:
        """Commits that only record refusals move no seq: each writer must still find the
        record's end that the other one moved."""
        other = self.open_book(clock)
        try:
            for i in range(3):
                for writer, name in ((book, "a"), (other, "b")):
                    refused = writer.submit(transfer(f"{name}{i}", "wallet:U1", "wallet:U2", 9))
                    assert isinstance(refused, Rejected), refused
            assert isinstance(other.submit(top_up("t1", "wallet:U1", 5)), Accepted)
            assert isinstance(book.submit(transfer("a9", "wallet:U1", "wallet:U2", 9)), Rejected)
            rows = list(book.store.refusal_rows())
            assert [r.n for r in rows] == list(range(1, 8))
            assert [r.command_id for r in rows] == ["a0", "b0", "a1", "b1", "a2", "b2", "a9"]
            from ledger.audit import verify

            assert verify(book).ok
        finally:
            other.close()

    def test_a_refusal_is_replayed_after_reopening(self, book: Ledger, clock: ManualClock) -> None:
        first = book.submit(transfer("s1", "wallet:U1", "wallet:U2", 900))
        again = self.reopen_book(book, clock)
        try:
            assert again.submit(top_up("t1", "wallet:U1", 5_000)).seq  # type: ignore[union-attr]
            assert again.submit(transfer("s1", "wallet:U1", "wallet:U2", 900)) == attrs.evolve(
                first, replayed=True
            )
            assert again.recorded_timezone == "Asia/Bangkok"
        finally:
            again.close()

    def test_reopen_gives_the_same_state(self, book: Ledger, clock: ManualClock) -> None:
        for i in range(10):
            book.submit(top_up(f"t{i}", "wallet:U1", 1_000 + i))
        balances, head = book.balances(), book.head()
        events = [r.hash for r in book.events()]
        again = self.reopen_book(book, clock)
        try:
            assert again.balances() == balances and again.head() == head
            assert [r.hash for r in again.events()] == events
            assert again.submit(top_up("t0", "wallet:U1", 1_000)).replayed
        finally:
            again.close()


def _entry_event(entry_id: str, amount: int) -> NewEvent:
    return NewEvent(
        stream=f"entry:{entry_id}",
        version=1,
        event=EntryPosted(
            entry_id=entry_id,
            kind="adjustment",
            postings=(
                Posting(account="bank:trust", side="debit", amount_minor=amount, currency="THB"),
                Posting(account="wallet:U1", side="credit", amount_minor=amount, currency="THB"),
            ),
        ),
        effective_at_us=to_us(T0),
    )
