"""Money rules pinned from the side the other tests leave open: each test here fails if
one small change to a money-critical line is made, a change the rest of the fast tests
would let through.

* the safeguarding report counts as in transit only the agents' receivables in its own
  currency (a USD receivable holding money is no THB cash on its way to the trust);
* an entry with more credits than debits is refused ``unbalanced`` as surely as one with
  more debits: in one currency, per currency, and per phase;
* ``effective_at`` is covered by the chain hash, so changing it in both tables it is kept
  in is still found by ``hash_chain`` at that seq;
* after a command that appends several events, the next command chains to the last of
  them (the head the store keeps between transactions is the last event's).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ledger import (
    Accepted,
    Command,
    Credit,
    Debit,
    ExpireHolds,
    Ledger,
    OpenAccount,
    PlaceHold,
    PostEntry,
    Rejected,
    Result,
    TopUp,
)
from ledger.accounts import Phase
from ledger.audit import verify
from ledger.errors import RejectCode
from ledger.flows.base import post
from ledger.store.base import GENESIS_HASH, chain_hash
from ledger.times import ManualClock, to_us
from projections.reports.safeguarding import CheckRow, OtherCurrencyRow, safeguarding
from projections.runner import Runner
from tests.conftest import assert_rejected, entry
from tests.conftest import post as post_entry
from tests.tampering import tamper

NOON = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
"""The clock of every ledger here: noon in Bangkok."""


def _accept(book: Ledger, *commands: Command) -> None:
    """Submit ``commands`` in one transaction; every one must be newly accepted."""
    results = book.submit_many(list(commands))
    assert all(isinstance(r, Accepted) and not r.replayed for r in results), results


def _opened(results: list[Result]) -> None:
    """Every result of ``Ledger.open_chart`` is an acceptance (a new one or a replay)."""
    assert results and all(isinstance(r, Accepted) for r in results), results


# --- (1) safeguarding: in transit is the report's currency only ---------------------------


def test_a_usd_agent_receivable_is_no_thb_cash_in_transit(tmp_path: Path) -> None:
    """Two THB agents collected 1,250.00 THB and a USD agent 70.00 USD; the THB wallets owe
    1,300.00 THB. In transit is 125_000 satang, so the trust (empty) and in transit fall
    5_000 short: the USD receivable's 7_000 cents must neither add to the THB in transit
    nor hide the shortfall."""
    with Ledger.open(tmp_path / "agents.db", clock=ManualClock(NOON)) as book:
        chart = book.chart
        _opened(book.open_chart(["USD"]))
        usd_agent = chart.agent("A3")
        _accept(
            book,
            chart.open_wallet("wallet:U1"),
            chart.open_wallet("wallet:U3:usd", "USD"),
            chart.open_agent("A1"),
            chart.open_agent("A2"),
            OpenAccount(
                id="open-usd-agent",
                account=usd_agent,
                type="asset",
                currency="USD",
                no_overdraft=True,
            ),
            OpenAccount(id="open-equity", account="equity:owner", type="equity", currency="THB"),
        )
        assert chart.in_transit(chart.agent("A1"), "asset", "THB")
        _accept(
            book,
            TopUp(
                id="t-a1",
                wallet="wallet:U1",
                amount_minor=100_000,
                channel="agent",
                funding_account=chart.agent("A1"),
            ),
            TopUp(
                id="t-a2",
                wallet="wallet:U1",
                amount_minor=25_000,
                channel="agent",
                funding_account=chart.agent("A2"),
            ),
            PostEntry(
                id="t-a3",
                kind="top_up",
                postings=[Debit(usd_agent, 7_000), Credit("wallet:U3:usd", 7_000)],
            ),
            PostEntry(
                id="unbacked",
                kind="adjustment",
                postings=[Debit("equity:owner", 5_000), Credit("wallet:U1", 5_000)],
            ),
        )
        assert book.balance(usd_agent).balance == 7_000  # the USD receivable holds money
        with Runner(book) as runner:
            day = NOON.astimezone(runner.timezone).date()
            report = safeguarding(runner, day)
    assert report.currency == "THB"
    assert report.rows("check") == (
        CheckRow(
            trust_minor=0,
            in_transit_minor=125_000,  # 100_000 (A1) + 25_000 (A2); A3's 7_000 USD is not THB
            safeguarded_minor=125_000,
            emoney_minor=130_000,
            surplus_minor=0,
            shortfall_minor=5_000,
            equity_minor=None,
            equity_ratio_bps=None,
            ok=False,
        ),
    )
    assert report.rows("other_currencies") == (OtherCurrencyRow("USD", 1, 7_000),)
    assert len(report.findings) == 1
    assert report.findings[0].startswith("SAFEGUARDING SHORTFALL")
    assert "in transit 1,250.00 THB" in report.findings[0]
    assert not report.ok


# --- (2) unbalanced: more credits than debits --------------------------------------------


@pytest.fixture
def accounts() -> Iterator[Ledger]:
    """A THB and USD ledger in memory: the trust bank account, a wallet that may not go
    below zero, a merchant payable, and a USD bank account and wallet."""
    with Ledger.open(":memory:", clock=ManualClock(NOON)) as book:
        _accept(
            book,
            *(
                OpenAccount(id=f"open-{a}", account=a, type=t, currency=c, no_overdraft=n)
                for a, t, c, n in (
                    ("bank:trust", "asset", "THB", False),
                    ("wallet:U1", "liability", "THB", True),
                    ("merchant:M1:payable", "liability", "THB", False),
                    ("bank:usd", "asset", "USD", False),
                    ("wallet:U1:usd", "liability", "USD", False),
                )
            ),
        )
        yield book


def test_more_credits_than_debits_is_unbalanced(accounts: Ledger) -> None:
    refused = assert_rejected(
        accounts,
        entry("e-1", Debit("bank:trust", 99), Credit("wallet:U1", 100)),
        RejectCode.UNBALANCED,
    )
    assert refused.detail == "THB debits and credits differ by 1 minor units"
    assert refused.subject == "postings"
    # credits only (two legs, one account each side of nothing)
    assert_rejected(
        accounts,
        entry("e-2", Credit("bank:trust", 100), Credit("wallet:U1", 100)),
        RejectCode.UNBALANCED,
    )
    # the same legs, balanced, pass: the refusal was the imbalance and nothing else
    post_entry(accounts, "e-3", Debit("bank:trust", 100), Credit("wallet:U1", 100))


def test_more_credits_than_debits_in_one_currency_is_unbalanced(accounts: Ledger) -> None:
    """THB balances; USD has 10 cents more credits than debits."""
    refused = assert_rejected(
        accounts,
        entry(
            "e-1",
            Debit("bank:trust", 100),
            Credit("wallet:U1", 100),
            Debit("bank:usd", 50),
            Credit("wallet:U1:usd", 60),
        ),
        RejectCode.UNBALANCED,
    )
    assert refused.detail == "USD debits and credits differ by 10 minor units"
    post_entry(
        accounts,
        "e-2",
        Debit("bank:trust", 100),
        Credit("wallet:U1", 100),
        Debit("bank:usd", 60),
        Credit("wallet:U1:usd", 60),
    )


@pytest.mark.parametrize("phase", ["pending", "released"])
def test_more_credits_than_debits_in_one_phase_is_unbalanced(
    accounts: Ledger, phase: Phase
) -> None:
    """The posted legs balance; the ``phase`` legs (what the hold flows reserve and free)
    have 10 satang more credits. No command takes phases from its caller, so the check is
    called as the hold flows call it, inside a write transaction that writes nothing."""
    legs: list[Debit | Credit] = [
        Debit("bank:trust", 30),
        Credit("merchant:M1:payable", 30),
        Debit("bank:trust", 40),
        Credit("merchant:M1:payable", 50),
    ]
    phases: list[Phase] = ["posted", "posted", phase, phase]
    head = accounts.head()
    with accounts.store.transaction(to_us(NOON), accounts.policy) as tx:
        refused = post(legs, tx, phases)
        balanced = post([*legs[:3], Credit("merchant:M1:payable", 40)], tx, phases)
    assert accounts.head() == head
    assert isinstance(refused, Rejected)
    assert refused.code is RejectCode.UNBALANCED
    assert refused.detail == f"THB {phase} debits and credits differ by 10 minor units"
    # the same legs balanced get past the balance check (released ones then stop at
    # overflow: this ledger has nothing pending to free)
    if phase == "pending":
        assert isinstance(balanced, tuple) and [p.phase for p in balanced] == phases
    else:
        assert isinstance(balanced, Rejected) and balanced.code is RejectCode.OVERFLOW


# --- (3) effective_at is in the chain hash ------------------------------------------------


def test_effective_at_changed_in_both_tables_breaks_the_chain_at_its_seq(
    tmp_path: Path,
) -> None:
    """``events.effective_at`` and the balance history's copy moved back together, so the
    postings cross-check agrees with the log: only the chain hash can see it."""
    path = tmp_path / "chain.db"
    with Ledger.open(path, clock=ManualClock(NOON)) as book:
        _accept(
            book,
            OpenAccount(id="o1", account="bank:trust", type="asset", currency="THB"),
            OpenAccount(id="o2", account="wallet:w", type="liability", currency="THB"),
            PostEntry(
                id="t1", kind="top_up", postings=[Debit("bank:trust", 500), Credit("wallet:w", 500)]
            ),
            PostEntry(
                id="t2", kind="top_up", postings=[Debit("bank:trust", 700), Credit("wallet:w", 700)]
            ),
        )
        assert verify(book).ok
    moved = to_us(NOON - timedelta(minutes=5))
    tamper(
        path,
        f"UPDATE events SET effective_at = {moved} WHERE seq = 3",
        f"UPDATE account_postings SET effective_at = {moved} WHERE seq = 3",
    )
    with Ledger.open(path) as book:
        assert [r.effective_at for r in book.events() if r.seq == 3] == [
            NOON - timedelta(minutes=5)
        ]
        report = verify(book)
    assert {(f.check, f.seq) for f in report.findings} == {("hash_chain", 3)}
    assert report.exit_code == 1


# --- (4) the head after a command that appends several events ----------------------------


def test_the_command_after_a_multi_event_command_chains_to_its_last_event(
    tmp_path: Path,
) -> None:
    """ExpireHolds expires two holds in one command: two events, one transaction. The next
    command, in a transaction of its own on the same Ledger (so on the head the store
    kept, not one read again), must chain to the second of them."""
    clock = ManualClock(NOON)
    with Ledger.open(tmp_path / "head.db", clock=clock) as book:
        chart = book.chart
        _opened(book.open_chart())
        _accept(book, chart.open_wallet("wallet:U1"), chart.open_merchant("M1"))
        _accept(book, TopUp(id="t1", wallet="wallet:U1", amount_minor=10_000, channel="bank"))
        expires = NOON + timedelta(hours=1)
        for hold in ("H1", "H2"):
            _accept(
                book,
                PlaceHold(
                    id=f"place-{hold}",
                    hold=hold,
                    wallet="wallet:U1",
                    destination=chart.merchant("M1"),
                    amount_minor=1_000,
                    expires_at=expires,
                ),
            )
        clock.advance(timedelta(hours=2))
        before = book.head()[0]
        expired = book.submit(ExpireHolds(id="expire", as_of=clock()))
        assert isinstance(expired, Accepted) and expired.seq == before + 2
        after = book.submit(TopUp(id="t2", wallet="wallet:U1", amount_minor=1, channel="bank"))
        assert isinstance(after, Accepted) and after.seq == before + 3
        report = verify(book)
        assert report.ok, report.findings
        previous = GENESIS_HASH
        for record in book.events():
            recomputed = chain_hash(
                previous,
                record.seq,
                record.stream,
                record.version,
                record.command_id,
                record.type,
                record.schema,
                to_us(record.recorded_at),
                to_us(record.effective_at),
                record.payload,
            )
            assert recomputed.hex() == record.hash, f"seq {record.seq} does not chain"
            previous = recomputed
        assert book.head() == (after.seq, previous.hex())
