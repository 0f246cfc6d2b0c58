"""Commands: frozen values naming what a caller wants the ledger to do, one module per flow.

Every command carries ``id``, chosen by the caller and used as its idempotency key.
Building a command checks only *types* (a float amount or an int id raises
:class:`~ledger.errors.InvalidCommand` at once); *values* — a negative amount, an unknown
account, a malformed id — are judged by the decide functions in :mod:`ledger.flows` and
come back as ``Rejected`` with a code, so a wallet backend can pass user input straight
through.
"""

from ledger.commands.accounts import CloseAccount, FreezeAccount, OpenAccount, UnfreezeAccount
from ledger.commands.base import Command, canonical_bytes
from ledger.commands.journal import Credit, Debit, Leg, PostEntry, Reverse

__all__ = [
    "CloseAccount",
    "Command",
    "Credit",
    "Debit",
    "FreezeAccount",
    "Leg",
    "OpenAccount",
    "PostEntry",
    "Reverse",
    "UnfreezeAccount",
    "canonical_bytes",
]
