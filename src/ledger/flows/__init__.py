"""Business flows: one module per flow, each a set of pure decide functions.

:func:`decide` dispatches a command to its flow's function; a new flow registers its
commands in :data:`DECIDERS` and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledger.chart import Chart
from ledger.commands import (
    AccrueInterest,
    AssignTier,
    CaptureHold,
    CloseAccount,
    ClosePeriod,
    CodDelivered,
    CodDeliveryFailed,
    CodRefunded,
    CodReleased,
    CodRemitted,
    CodReturned,
    Command,
    DefineTier,
    DisburseLoan,
    EraseSubject,
    Exchange,
    ExpireHolds,
    FreezeAccount,
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
    ResolveDispute,
    RestructureLoan,
    Reverse,
    SettleAgent,
    TopUp,
    Transfer,
    UnfreezeAccount,
    Withdraw,
    WriteOffLoan,
)
from ledger.errors import InvalidCommand, RejectCode
from ledger.flows import (
    accounts,
    cod,
    exchange,
    holds,
    journal,
    loans,
    payments,
    subjects,
    tiers,
    topups,
    transfers,
)
from ledger.policy import Policy
from ledger.results import Rejected
from ledger.state import NewEvent, State
from ledger.times import from_us

Decider = Callable[[Any, State], "list[NewEvent] | Rejected"]

DECIDERS: dict[type[Command], Decider] = {
    OpenAccount: accounts.decide_open,
    FreezeAccount: accounts.decide_freeze,
    UnfreezeAccount: accounts.decide_unfreeze,
    CloseAccount: accounts.decide_close,
    PostEntry: journal.decide_post_entry,
    Reverse: journal.decide_reverse,
    ClosePeriod: journal.decide_close_period,
    TopUp: topups.decide_top_up,
    SettleAgent: topups.decide_settle_agent,
    Pay: payments.decide_pay,
    PayBill: payments.decide_pay_bill,
    Refund: payments.decide_refund,
    Transfer: transfers.decide_transfer,
    Withdraw: transfers.decide_withdraw,
    Exchange: exchange.decide_exchange,
    PlaceHold: holds.decide_place_hold,
    CaptureHold: holds.decide_capture_hold,
    ReleaseHold: holds.decide_release_hold,
    ExpireHolds: holds.decide_expire_holds,
    DefineTier: tiers.decide_define_tier,
    AssignTier: tiers.decide_assign_tier,
    CodDelivered: cod.decide_cod_delivered,
    CodDeliveryFailed: cod.decide_cod_delivery_failed,
    CodRemitted: cod.decide_cod_remitted,
    ResolveDispute: cod.decide_resolve_dispute,
    CodReleased: cod.decide_cod_released,
    PayoutMerchant: cod.decide_payout_merchant,
    CodReturned: cod.decide_cod_returned,
    CodRefunded: cod.decide_cod_refunded,
    DisburseLoan: loans.decide_disburse_loan,
    AccrueInterest: loans.decide_accrue_interest,
    RepayLoan: loans.decide_repay_loan,
    ProvisionLoans: loans.decide_provision_loans,
    WriteOffLoan: loans.decide_write_off_loan,
    RecoverLoan: loans.decide_recover_loan,
    RestructureLoan: loans.decide_restructure_loan,
    EraseSubject: subjects.decide_erase_subject,
}


def decide(command: Command, state: State) -> list[NewEvent] | Rejected:
    """Events the command would append, or why it is rejected. Pure: reads ``state`` only.

    Whatever the flow, nothing may be effective inside a closed period (``ClosePeriod``):
    a backdated entry, or the default time of a writer whose clock is behind the close,
    is rejected period_closed.
    """
    decider = DECIDERS.get(type(command))
    if decider is None:
        raise InvalidCommand(
            f"{type(command).__name__} is not a ledger command; see ledger.commands"
        )
    outcome = decider(command, state)
    if isinstance(outcome, Rejected) or not outcome:
        return outcome
    closed = state.closed_through_us
    if closed and min(new.effective_at_us for new in outcome) <= closed:
        return Rejected(
            RejectCode.PERIOD_CLOSED,
            f"the books are closed through {from_us(closed).isoformat()}; an entry effective "
            f"{from_us(min(n.effective_at_us for n in outcome)).isoformat()} falls inside",
            subject="effective_at" if getattr(command, "effective_at", None) is not None else "",
        )
    return outcome


__all__ = ["DECIDERS", "Chart", "NewEvent", "Policy", "State", "decide"]
