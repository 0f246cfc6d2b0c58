"""Account lifecycle: open, freeze, unfreeze, close. Each account is the stream ``account:<id>``."""

from __future__ import annotations

from ledger.accounts import AccountStatus, AccountType, is_valid_id
from ledger.commands import CloseAccount, FreezeAccount, OpenAccount, UnfreezeAccount
from ledger.errors import RejectCode, shown
from ledger.events import AccountClosed, AccountFrozen, AccountOpened, AccountUnfrozen, Event
from ledger.flows.base import check_metadata, check_text, first_problem, not_found, reject
from ledger.money import CURRENCIES, amount_problem
from ledger.personal_ids import personal_id_part, personal_id_reason
from ledger.results import Rejected
from ledger.state import NewEvent, State


def stream_of(account_id: str) -> str:
    """The stream of an account's lifecycle events."""
    return f"account:{account_id}"


def decide_open(command: OpenAccount, state: State) -> list[NewEvent] | Rejected:
    """Open an account.

    Rejects: account_id_invalid, id_personal (a part of the id, or of the
    subject's, is a Thai mobile number or national ID), account_type_invalid,
    currency_invalid, amount_invalid, field_invalid (metadata, subject), subject_erased,
    account_closed (the id belongs to a closed account), account_exists
    (already open, or frozen, with exactly these attributes: a caller ensuring its chart
    may take it as done), account_exists_different (other attributes).
    A retry of the same command (same id) is answered by the idempotency index instead.
    """
    if not is_valid_id(command.account):
        return reject(
            RejectCode.ACCOUNT_ID_INVALID,
            f"account id {shown(command.account)} must be 1..128 of [A-Za-z0-9:_.-]",
            "account",
        )
    personal = personal_id_part(command.account, state.policy.personal.allowed_ids)
    if personal is not None:
        return reject(
            RejectCode.ID_PERSONAL,
            f"a part of the account id is {personal_id_reason(personal)}: an id stays in the "
            "log in the clear, so it must not be personal data; map it to an opaque id",
            "account",
        )
    if command.type not in AccountType.__members__.values():
        return reject(
            RejectCode.ACCOUNT_TYPE_INVALID,
            f"type {shown(command.type)} is not one of {', '.join(AccountType)}",
            "type",
        )
    if command.currency not in CURRENCIES:
        return reject(
            RejectCode.CURRENCY_INVALID, f"unknown currency {shown(command.currency)}", "currency"
        )
    if command.max_balance_minor is not None:
        problem = amount_problem(command.max_balance_minor)
        if problem is not None:
            return reject(
                RejectCode.AMOUNT_INVALID, f"max_balance_minor: {problem}", "max_balance_minor"
            )
    problem_ = check_metadata(command.metadata) or _check_subject(command.subject, state)
    if problem_ is not None:
        return problem_
    event = AccountOpened(
        account=command.account,
        account_type=command.type,
        currency=command.currency,
        no_overdraft=command.no_overdraft,
        max_balance_minor=command.max_balance_minor,
        metadata=command.metadata,
        subject=command.subject,
    )
    existing = state.account(command.account)
    if existing is not None:
        same = (
            existing.type == command.type
            and existing.currency == command.currency
            and existing.no_overdraft == command.no_overdraft
            and existing.max_balance_minor == command.max_balance_minor
            and existing.subject == command.subject
            and existing.metadata.keys() == command.metadata.keys()
            and all(state.reveal(v) == command.metadata[k] for k, v in existing.metadata.items())
        )
        if existing.status is AccountStatus.CLOSED:
            return reject(
                RejectCode.ACCOUNT_CLOSED,
                f"{command.account} was closed; a closed account stays closed, open a new id",
                command.account,
            )
        if same:
            frozen = " (it is frozen)" if existing.status is AccountStatus.FROZEN else ""
            return reject(
                RejectCode.ACCOUNT_EXISTS,
                f"{command.account} is already open with these attributes{frozen}; nothing to do",
                command.account,
            )
        return reject(
            RejectCode.ACCOUNT_EXISTS_DIFFERENT,
            f"{command.account} is already open with other attributes",
            command.account,
        )
    return [NewEvent(stream_of(command.account), 1, event, state.now_us)]


def _check_subject(subject: str | None, state: State) -> Rejected | None:
    """field_invalid if ``subject`` is not an id, id_personal if a part of it is
    a phone number or national ID, subject_erased if it was erased."""
    if subject is None:
        return None
    if not is_valid_id(subject):
        return reject(
            RejectCode.FIELD_INVALID,
            f"subject {shown(subject)} must be 1..128 of [A-Za-z0-9:_.-]",
            "subject",
        )
    personal = personal_id_part(subject, state.policy.personal.allowed_ids)
    if personal is not None:
        return reject(
            RejectCode.ID_PERSONAL,
            f"a part of the subject id is {personal_id_reason(personal)}: it stays in the "
            "log in the clear, so it must not be personal data; map it to an opaque id",
            "subject",
        )
    found = state.subject(subject)
    if found is not None and found.erased:
        return reject(
            RejectCode.SUBJECT_ERASED,
            f"{subject} was erased at seq {found.erased_seq}; no account may name it again",
            subject,
        )
    return None


def _next(state: State, account_id: str, event: Event) -> list[NewEvent]:
    """``event`` as the next version of the account's stream, effective now."""
    stream = stream_of(account_id)
    return [NewEvent(stream, state.stream_version(stream) + 1, event, state.now_us)]


def decide_freeze(command: FreezeAccount, state: State) -> list[NewEvent] | Rejected:
    """Rejects: account_not_found, field_invalid, account_closed, account_frozen."""
    account = state.account(command.account) if is_valid_id(command.account) else None
    if account is None:
        return not_found(command.account, "account")
    problem = first_problem(
        check_text("reason", command.reason),
        reject(RejectCode.ACCOUNT_CLOSED, f"{account.id} is closed", account.id)
        if account.status is AccountStatus.CLOSED
        else None,
        reject(RejectCode.ACCOUNT_FROZEN, f"{account.id} is already frozen", account.id)
        if account.status is AccountStatus.FROZEN
        else None,
    )
    if problem is not None:
        return problem
    return _next(state, account.id, AccountFrozen(account=account.id, reason=command.reason))


def decide_unfreeze(command: UnfreezeAccount, state: State) -> list[NewEvent] | Rejected:
    """Rejects: account_not_found, field_invalid, account_closed, account_not_frozen."""
    account = state.account(command.account) if is_valid_id(command.account) else None
    if account is None:
        return not_found(command.account, "account")
    problem = first_problem(
        check_text("reason", command.reason),
        reject(RejectCode.ACCOUNT_CLOSED, f"{account.id} is closed", account.id)
        if account.status is AccountStatus.CLOSED
        else None,
        reject(
            RejectCode.ACCOUNT_NOT_FROZEN,
            f"{account.id} is {account.status}, not frozen",
            account.id,
        )
        if account.status is not AccountStatus.FROZEN
        else None,
    )
    if problem is not None:
        return problem
    return _next(state, account.id, AccountUnfrozen(account=account.id, reason=command.reason))


def decide_close(command: CloseAccount, state: State) -> list[NewEvent] | Rejected:
    """Rejects: account_not_found, account_closed, balance_not_zero (posted or pending)."""
    account = state.account(command.account) if is_valid_id(command.account) else None
    if account is None:
        return not_found(command.account, "account")
    if account.status is AccountStatus.CLOSED:
        return reject(RejectCode.ACCOUNT_CLOSED, f"{account.id} is already closed", account.id)
    c = state.counters(account.id)
    if c.debits_posted != c.credits_posted or c.debits_pending or c.credits_pending:
        return reject(
            RejectCode.BALANCE_NOT_ZERO,
            f"{account.id} has balance {c.balance(account.normal_side)} and "
            f"{c.debits_pending + c.credits_pending} pending; it closes only at zero",
            account.id,
        )
    return _next(state, account.id, AccountClosed(account=account.id))
