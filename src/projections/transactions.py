"""Customer transactions: one row per money movement a customer made or received, with
what the activity and AML reports group by.

Table (projection ``transactions``): ``proj_transactions`` — seq, effective time, the
category (``top_up``, ``payment``, ``bill_payment``, ``p2p``, ``cash_out``, ``refund``,
``hold_capture``, ``exchange``, ``loan_disbursement``, ``loan_repayment``,
``loan_recovery``, ``merchant_payout``, ``cod_refund``, ``agent_settlement``, and
``reversal`` of any of them, with the reversed category as its channel), the top-up
channel, the customer (``party``: the wallet that paid, or that received a top-up, refund,
COD refund or loan), the counterparty, the agent's receivable account for counter and
agent top-ups and agent settlements, whether the customer handed over cash (``cash``:
counter and agent top-ups), the amount and fee.
A merchant payout names the merchant as party and ``bank`` or ``wallet`` as its channel.
A COD refund paid into a buyer's wallet (``cod_refund``) names the order as counterparty;
a recovery on a written-off loan taken from the loan's wallet (``loan_recovery``) names
the loan, as a repayment does.

Journal entries, holds being placed or released, COD order steps, COD refunds paid to a
bank, loan accruals, provisioning and write-offs, and recoveries paid to the lender's bank
are not customer transactions and are left out (they are all on the statements).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from ledger.events import (
    AgentSettled,
    BillPaid,
    CodBuyerRefunded,
    EntryReversed,
    Exchanged,
    HoldCaptured,
    LoanDisbursed,
    LoanRecovered,
    LoanRepaid,
    MerchantPaidOut,
    PaymentMade,
    Refunded,
    TopUpReceived,
    Transferred,
    Withdrawn,
)
from ledger.store.base import RecordedEvent
from projections.base import Database, Projection, Table

CASH_CHANNELS = frozenset({"counter", "agent"})
"""Top-up channels where the customer hands over cash (at a shop counter or an agent)."""

CATEGORIES = (
    "top_up",
    "payment",
    "bill_payment",
    "p2p",
    "cash_out",
    "refund",
    "hold_capture",
    "exchange",
    "loan_disbursement",
    "loan_repayment",
    "loan_recovery",
    "merchant_payout",
    "cod_refund",
    "agent_settlement",
    "reversal",
)

TRANSACTIONS = Table(
    "proj_transactions",
    {
        "seq": int,
        "effective_at": int,
        "command_id": str,
        "category": str,
        "channel": str,
        "party": str,
        "counterparty": str,
        "agent": str,
        "cash": int,
        "amount_minor": int,
        "fee_minor": int,
        "currency": str,
    },
    pk=("seq",),
    indexes=(("effective_at",), ("party", "effective_at")),
    nullable=frozenset({"channel", "agent"}),
)


@attrs.frozen
class _Row:
    category: str
    party: str
    counterparty: str
    amount_minor: int
    fee_minor: int = 0
    channel: str | None = None
    agent: str | None = None
    cash: bool = False


def _row(event: Any) -> _Row | None:
    match event:
        case TopUpReceived():
            cash = event.channel in CASH_CHANNELS
            return _Row(
                "top_up",
                event.wallet,
                event.funding_account,
                event.amount_minor,
                event.fee_minor,
                channel=event.channel,
                agent=event.funding_account if cash else None,
                cash=cash,
            )
        case PaymentMade():
            return _Row(
                "payment", event.wallet, event.merchant, event.amount_minor, event.fee_minor
            )
        case BillPaid():
            return _Row(
                "bill_payment", event.wallet, event.biller, event.amount_minor, event.fee_minor
            )
        case Transferred():
            return _Row("p2p", event.source, event.destination, event.amount_minor)
        case Withdrawn():
            return _Row("cash_out", event.wallet, "", event.amount_minor, event.fee_minor)
        case Refunded():
            return _Row("refund", event.wallet, event.merchant, event.amount_minor, event.fee_minor)
        case HoldCaptured():
            if not event.amount_minor:
                return None
            debit = next(
                (p for p in event.postings if p.side == "debit" and p.phase == "posted"), None
            )
            credit = next(
                (p for p in event.postings if p.side == "credit" and p.phase == "posted"), None
            )
            return _Row(
                "hold_capture",
                debit.account if debit else "",
                credit.account if credit else "",
                event.amount_minor,
            )
        case Exchanged():
            return _Row("exchange", event.source, event.destination, event.sell_amount_minor)
        case LoanDisbursed():
            return _Row(
                "loan_disbursement",
                event.wallet,
                event.loan,
                event.principal_minor,
                event.fee_minor,
            )
        case LoanRepaid():
            return _Row("loan_repayment", event.wallet, event.loan, event.amount_minor)
        case MerchantPaidOut():
            return _Row(
                "merchant_payout", event.merchant, event.to, event.paid_minor, channel=event.to
            )
        case CodBuyerRefunded(wallet=str(wallet)):
            # new e-money in the buyer's wallet; a refund to the buyer's bank (no wallet) is none
            return _Row("cod_refund", wallet, event.order, event.amount_minor)
        case AgentSettled():
            # The agent's receivable (the account the settlement credits), as top-ups name it.
            receivable = next((p.account for p in event.postings if p.side == "credit"), "")
            bank = next((p.account for p in event.postings if p.side == "debit"), "")
            return _Row("agent_settlement", receivable, bank, event.amount_minor, agent=receivable)
    return None


_INSERT = "INSERT INTO proj_transactions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


class Transactions(Projection):
    """The ``proj_transactions`` read model: one row per customer transaction (see the
    module's docstring for what is one and what each column holds)."""

    name = "transactions"
    version = 2
    """2: COD refunds into a wallet (``cod_refund``) and loan recoveries taken from a wallet
    (``loan_recovery``) are rows."""
    handles = frozenset(
        {
            TopUpReceived,
            PaymentMade,
            BillPaid,
            Transferred,
            Withdrawn,
            Refunded,
            HoldCaptured,
            Exchanged,
            LoanDisbursed,
            LoanRepaid,
            MerchantPaidOut,
            CodBuyerRefunded,
            LoanRecovered,
            AgentSettled,
            EntryReversed,
        }
    )
    tables = (TRANSACTIONS,)

    def apply(self, db: Database, record: RecordedEvent) -> None:
        self.apply_page(db, [record])

    def apply_page(self, db: Database, records: Sequence[RecordedEvent]) -> None:
        """The page's rows in one statement; a reversal or a recovery, which reads the
        rows before it, first writes those of the page still waiting."""
        rows: list[tuple[object, ...]] = []
        for record in records:
            event = record.event
            if isinstance(event, EntryReversed | LoanRecovered):
                db.conn.executemany(_INSERT, rows)
                rows.clear()
                if isinstance(event, EntryReversed):
                    self._reversal(db, record, event)
                else:
                    self._recovery(db, record, event)
                continue
            row = _row(event)
            if row is None:
                continue
            postings = getattr(event, "postings", ())
            rows.append(
                (
                    record.seq,
                    record.effective_at_us,
                    record.command_id,
                    row.category,
                    row.channel,
                    row.party,
                    row.counterparty,
                    row.agent,
                    int(row.cash),
                    row.amount_minor,
                    row.fee_minor,
                    postings[0].currency if postings else "",
                )
            )
        db.conn.executemany(_INSERT, rows)

    def _reversal(self, db: Database, record: RecordedEvent, event: EntryReversed) -> None:
        """A ``Reverse`` of a customer transaction: a ``reversal`` row with the original's
        customer, counterparty, amount and fee, its category as the channel, and no cash
        handed over (``cash`` 0: the reversal is a book entry, not a counter). A reversed
        journal entry was no customer transaction, so its reversal is none either."""
        db.execute(
            "INSERT INTO proj_transactions SELECT ?, ?, ?, 'reversal', category, party,"
            " counterparty, agent, 0, amount_minor, fee_minor, currency"
            " FROM proj_transactions WHERE command_id = ? AND category != 'reversal'",
            (record.seq, record.effective_at_us, record.command_id, event.reverses),
        )

    def _recovery(self, db: Database, record: RecordedEvent, event: LoanRecovered) -> None:
        """A recovery on a written-off loan taken from the loan's wallet: a
        ``loan_recovery`` row, the wallet as party and the loan as counterparty, as a
        repayment has them. The event names the loan, not the wallet: the write side takes
        a recovery from the wallet the loan was paid into, which is the party of the loan's
        own ``loan_disbursement`` row (one per loan id). A recovery a collector paid into
        the lender's bank (``from_bank``) moved no e-money and is no row."""
        if event.from_bank:
            return
        db.execute(
            "INSERT INTO proj_transactions SELECT ?, ?, ?, 'loan_recovery', NULL, party,"
            " counterparty, NULL, 0, ?, 0, ? FROM proj_transactions"
            " WHERE category = 'loan_disbursement' AND counterparty = ?",
            (
                record.seq,
                record.effective_at_us,
                record.command_id,
                event.amount_minor,
                event.postings[0].currency,
                event.loan,
            ),
        )
