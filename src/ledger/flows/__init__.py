"""Business flows: one module per flow, each a set of pure decide functions.

:func:`decide` dispatches a command to its flow's function; a new flow registers its
commands in :data:`DECIDERS` and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledger.commands import (
    CloseAccount,
    Command,
    FreezeAccount,
    OpenAccount,
    PostEntry,
    Reverse,
    UnfreezeAccount,
)
from ledger.errors import InvalidCommand
from ledger.flows import accounts, journal
from ledger.flows.base import NewEvent, Policy, State
from ledger.results import Rejected

Decider = Callable[[Any, State], "list[NewEvent] | Rejected"]

DECIDERS: dict[type[Command], Decider] = {
    OpenAccount: accounts.decide_open,
    FreezeAccount: accounts.decide_freeze,
    UnfreezeAccount: accounts.decide_unfreeze,
    CloseAccount: accounts.decide_close,
    PostEntry: journal.decide_post_entry,
    Reverse: journal.decide_reverse,
}


def decide(command: Command, state: State) -> list[NewEvent] | Rejected:
    """Events the command would append, or why it is rejected. Pure: reads ``state`` only."""
    decider = DECIDERS.get(type(command))
    if decider is None:
        raise InvalidCommand(
            f"{type(command).__name__} is not a ledger command; see ledger.commands"
        )
    return decider(command, state)


__all__ = ["DECIDERS", "NewEvent", "Policy", "State", "decide"]
