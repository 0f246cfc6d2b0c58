"""The holds read model (projections.holds) follows every hold: one row per hold with its
status, captured and released amounts and times, as the holds' streams and the final
states of ledger.state.holds say, filtered by wallet and status, on real SQLite files."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from ledger import CaptureHold, ExpireHolds, Ledger, PlaceHold, ReleaseHold, TopUp
from ledger.events import HoldPlaced
from ledger.state.holds import FINAL
from ledger.times import ManualClock
from projections.holds import HoldView, holds
from tests.conftest import written
from tests.projections.conftest import all_accepted, check_as_of, ok, reads


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
    check_as_of(book)
