"""Which data is personal, declared field by field, and whose it is (docs/personal-data.md).

Every text field of every command and event is declared here, once: **personal** (free
text a customer or an operator writes about a customer: sealed under its subject's data
key, so an erasure destroys it) or **structural** (ids, codes, types, currencies: what
the books are made of, kept in the clear). A test fails on a text field declared neither
way, so a new one cannot slip in unsealed.

Personal text belongs to the subject of the account that initiates the command, named by
an *owner*: a field naming that account (the paying or sending wallet), ``subject`` (an
account's own subject, when it is opened), ``legs`` (the first leg, in order, whose
account has a subject: a journal entry, its reversal). Text whose owner has no subject
(a system account's, an entry between system accounts) is not a customer's, and is
stored as written. An account's metadata values are personal except under the keys
the policy declares structural (``PersonalDataPolicy.structural_metadata``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import attrs
import msgspec

from ledger.commands import (
    Command,
    FreezeAccount,
    OpenAccount,
    Pay,
    PayBill,
    PostEntry,
    Reverse,
    TopUp,
    Transfer,
    UnfreezeAccount,
)
from ledger.events import (
    AccountFrozen,
    AccountOpened,
    AccountUnfrozen,
    BillPaid,
    EntryPosted,
    EntryReversed,
    Event,
    MoneyEvent,
    PaymentMade,
    TopUpReceived,
    Transferred,
)
from ledger.keys import TOKEN_PREFIX, is_sealed

SEALED_FROM = "sealed_from"
"""The ledger setting of a file written by ``ledger.seal`` from one whose personal data was
plain: ``<seq>:<hash>`` of that file's head. Its copied refusals keep their digests keyed
under the names key (:func:`ledger.keys.keyed_digest` of the old SHA-256)."""

SUBJECT = "subject"
"""The owner of an account's own metadata: the subject it is opened for."""
LEGS = "legs"
"""The owner of a journal entry's text: the first leg, in order, whose account has a
subject (for a reversal, the reversed entry's)."""

PERSONAL_EVENT_FIELDS: dict[type[Event], tuple[str, tuple[str, ...]]] = {
    AccountOpened: (SUBJECT, ("metadata",)),
    AccountFrozen: ("account", ("reason",)),
    AccountUnfrozen: ("account", ("reason",)),
    EntryPosted: (LEGS, ("memo", "metadata")),
    EntryReversed: (LEGS, ("memo",)),
    TopUpReceived: ("wallet", ("metadata",)),
    PaymentMade: ("wallet", ("reference",)),
    BillPaid: ("wallet", ("bill_reference",)),
    Transferred: ("source", ("memo",)),
}
"""For each event type with personal text: its owner, and its personal fields."""

TEXT_EVENTS: dict[type[Command], type[Event]] = {
    OpenAccount: AccountOpened,
    FreezeAccount: AccountFrozen,
    UnfreezeAccount: AccountUnfrozen,
    PostEntry: EntryPosted,
    Reverse: EntryReversed,
    TopUp: TopUpReceived,
    Pay: PaymentMade,
    PayBill: BillPaid,
    Transfer: Transferred,
}
"""For each command type with personal text, the event that carries it into the log."""

PERSONAL_COMMAND_FIELDS: dict[type[Command], tuple[str, tuple[str, ...]]] = {
    command: PERSONAL_EVENT_FIELDS[event] for command, event in TEXT_EVENTS.items()
}
"""For each command type with personal text: its owner and its personal fields, those of
the event that carries them (a command names its owner by the same field)."""

STRUCTURAL_FIELDS: frozenset[str] = frozenset(
    {
        # ids of what the books hold
        "id",
        "account",
        "wallet",
        "merchant",
        "biller",
        "agent",
        "source",
        "destination",
        "funding_account",
        "hold",
        "tier",
        "order",
        "orders",
        "courier",
        "remittance",
        "payout",
        "loan",
        "borrower",
        "payment",
        "entry_id",
        "reverses",
        "subject",
        # codes, types and figures
        "type",
        "account_type",
        "currency",
        "sell_currency",
        "buy_currency",
        "rate",
        "channel",
        "kind",
        "frequency",
        "stage",
        "outcome",
        "to",
    }
)
"""Text fields, by name, that are structural wherever they appear."""

STRUCTURAL_TEXT: frozenset[tuple[str, str]] = frozenset(
    {
        ("PeriodClosed", "memo"),
        ("ClosePeriod", "memo"),
        ("SubjectErased", "reason"),
        ("EraseSubject", "reason"),
    }
)
"""Free text, by (class, field), that is not a customer's: a period's close is the
operator's, and an erasure's reason must outlive the erasure (a request or ticket
number, never personal data)."""


def _owner(
    owner: str,
    value: Any,
    subject_of: Callable[[str], str | None],
    legs: Callable[[Any], list[str]],
) -> str | None:
    if owner == SUBJECT:
        found: str | None = value.subject
        return found
    if owner == LEGS:
        for account in legs(value):
            subject = subject_of(account)
            if subject is not None:
                return subject
        return None
    account_id = getattr(value, owner)
    return subject_of(account_id) if isinstance(account_id, str) else None


def _has_text(value: Any, fields: tuple[str, ...], structural: Collection[str]) -> bool:
    for name in fields:
        field = getattr(value, name)
        if isinstance(field, dict):
            if any(v for k, v in field.items() if k not in structural):
                return True
        elif field:
            return True
    return False


def command_has_text(command: Command, structural: Collection[str]) -> bool:
    """Whether ``command`` carries personal text (as :func:`event_has_text`)."""
    declared = PERSONAL_COMMAND_FIELDS.get(type(command))
    return declared is not None and _has_text(command, declared[1], structural)


def command_subject(
    command: Command,
    subject_of: Callable[[str], str | None],
    reversed_accounts: Callable[[str], list[str]],
    structural: Collection[str],
) -> str | None:
    """The subject whose personal text ``command`` carries, None if it carries none, or
    its owner has no subject. ``subject_of`` gives an account's subject (None for a
    system account, or an account never opened); ``reversed_accounts`` the accounts of
    an entry's postings, in order, by the entry's command id (for a ``Reverse``)."""
    declared = PERSONAL_COMMAND_FIELDS.get(type(command))
    if declared is None:
        return None
    owner, fields = declared
    if not _has_text(command, fields, structural):
        return None

    def legs(value: Any) -> list[str]:
        if isinstance(value, Reverse):
            return reversed_accounts(value.entry_id)
        return [leg.account for leg in value.postings if isinstance(leg.account, str)]

    return _owner(owner, command, subject_of, legs)


def event_has_text(event: Event, structural: Collection[str]) -> bool:
    """Whether ``event`` carries personal text: a declared field not empty (a metadata
    value under a key that is not ``structural``)."""
    declared = PERSONAL_EVENT_FIELDS.get(type(event))
    return declared is not None and _has_text(event, declared[1], structural)


def event_subject(event: Event, subject_of: Callable[[str], str | None]) -> str | None:
    """The subject whose personal text ``event`` carries, None if none (as for
    :func:`command_subject`, the structural metadata keys aside)."""
    declared = PERSONAL_EVENT_FIELDS.get(type(event))
    if declared is None:
        return None

    def legs(value: Any) -> list[str]:
        return [p.account for p in value.postings] if isinstance(value, MoneyEvent) else []

    return _owner(declared[0], event, subject_of, legs)


def sealed_event(event: Event, seal: Callable[[str], str], structural: Collection[str]) -> Event:
    """``event`` with each personal value sealed by ``seal`` (its subject's): non-empty
    text, and every metadata value whose key is not ``structural``. A value sealed
    already is kept (an event read back and appended again never is, but a caller's
    event might be)."""
    declared = PERSONAL_EVENT_FIELDS.get(type(event))
    if declared is None:
        return event
    # a value starting as a sealed one is one: a caller's text may not (check_text)
    changes: dict[str, Any] = {}
    for name in declared[1]:
        value = getattr(event, name)
        if isinstance(value, dict):
            if any(v and k not in structural and v[:4] != TOKEN_PREFIX for k, v in value.items()):
                changes[name] = {
                    k: v if k in structural or not v or v[:4] == TOKEN_PREFIX else seal(v)
                    for k, v in value.items()
                }
        elif value and value[:4] != TOKEN_PREFIX:
            changes[name] = seal(value)
    return msgspec.structs.replace(event, **changes) if changes else event


def opened_event(event: Event, open_: Callable[[str], str], structural: Collection[str]) -> Event:
    """``event`` with each sealed value opened by ``open_`` (which may answer with a
    marker, such as an erased subject's): the reverse of :func:`sealed_event`."""
    declared = PERSONAL_EVENT_FIELDS.get(type(event))
    if declared is None:
        return event
    changes: dict[str, Any] = {}
    for name in declared[1]:
        value = getattr(event, name)
        if isinstance(value, dict):
            if any(is_sealed(v) for v in value.values()):
                changes[name] = {k: open_(v) if is_sealed(v) else v for k, v in value.items()}
        elif value and is_sealed(value):
            changes[name] = open_(value)
    return msgspec.structs.replace(event, **changes) if changes else event


def blanked(command: Command, structural: Collection[str]) -> Command:
    """``command`` with its personal text taken out (text emptied, personal metadata
    values emptied): what the idempotency digest covers when the subject's key is gone,
    so the digest confirms nothing personal, and a retry still finds its first answer."""
    declared = PERSONAL_COMMAND_FIELDS.get(type(command))
    if declared is None:
        return command
    changes: dict[str, Any] = {}
    for name in declared[1]:
        value = getattr(command, name)
        if isinstance(value, dict):
            changes[name] = {k: v if k in structural else "" for k, v in value.items()}
        else:
            changes[name] = ""
    return attrs.evolve(command, **changes)


def command_accounts(command: Command) -> list[str]:
    """The ids ``command`` names in its structural fields (an account, a wallet, a party,
    an entry; each leg's account): what it may be refused as not found."""
    found = []
    for field in attrs.fields(type(command)):
        value = getattr(command, field.name)
        if field.name in STRUCTURAL_FIELDS and isinstance(value, str):
            found.append(value)
        elif field.name == "postings" and isinstance(value, tuple):
            found += [leg.account for leg in value if isinstance(leg.account, str)]
    return found
