"""What ``submit`` returns: ``Accepted`` or ``Rejected``, one per command."""

from __future__ import annotations

import attrs

from ledger.accounts import Balance
from ledger.errors import RejectCode


@attrs.frozen
class Accepted:
    """The command was appended; ``seq`` is the last event it wrote.

    ``replayed`` is True for an idempotent retry: the same id with the same content was
    accepted before, nothing new was written, and the original ``seq`` comes back.
    """

    id: str
    seq: int
    replayed: bool = False
    balances: tuple[Balance, ...] = attrs.field(default=(), eq=False)
    """The balances of the accounts this command posted to, as of its last event (by
    account id): what a service answers "your new balance is" with. A replay carries
    them as of the original command too. Not part of equality: two answers for one
    command are the same answer whether or not they carry balances."""


@attrs.frozen
class Rejected:
    """The command was refused with a stable ``code``; nothing was appended.

    A refusal that ``decide`` reached is recorded against the command's id before the
    caller hears it: a retry of the same command gets this same ``Rejected`` back, with
    ``replayed=True`` (docs/concepts.md).
    """

    code: RejectCode
    detail: str
    id: str = ""
    subject: str = ""
    """The account id, or the command's field, that failed, where one did ("" if none)."""
    replayed: bool = False


Result = Accepted | Rejected
