"""The port between the decide functions and the store: what a decide function may read
(:class:`State`, which every store implements inside its write transaction) and what it
proposes (:class:`NewEvent`). It lives beneath both, so the store implements the domain's
interface without importing a flow.
"""

from __future__ import annotations

from typing import Protocol

import attrs

from ledger.accounts import Account, Counters
from ledger.events import Event
from ledger.policy import Policy
from ledger.state.subjects import Subject


class State(Protocol):
    """What a decide function may read. Stores answer from inside the write transaction."""

    @property
    def now_us(self) -> int:
        """This transaction's ``recorded_at``, UTC microseconds."""
        ...

    @property
    def policy(self) -> Policy: ...

    def account(self, account_id: str) -> Account | None:
        """The account, None if it was never opened (or ``account_id`` is not an id)."""
        ...

    def counters(self, account_id: str) -> Counters: ...

    def holding(self, account_id: str) -> tuple[Account, Counters] | None:
        """The account and its counters in one lookup, None as for :meth:`account`:
        always ``(account(id), counters(id))``, which ``post`` reads through it."""
        ...

    def subject(self, subject_id: str) -> Subject | None:
        """The subject as the log leaves it, None if nothing names it (no account, and
        no data key in the key store)."""
        ...

    def reveal(self, value: str) -> str:
        """A text field as its caller wrote it: a sealed value opened with its subject's
        data key, any other text as it is. :class:`~ledger.errors.MasterKeyMissing` if
        that needs a master key the ledger was not given."""
        ...

    def keyed_name(self, text: str, *, create: bool = False) -> str | None:
        """``text`` keyed with the ledger's names key (:func:`ledger.keys.keyed_name`): a
        name, such as a stream's, that confirms nothing of ``text`` without the master
        key. None if the ledger has no names key and ``create`` is False (nothing was ever
        named so); ``create`` makes one."""
        ...

    def stream_version(self, stream: str) -> int:
        """The stream's last version, 0 if it has no events yet."""
        ...

    def command_events(self, command_id: str) -> list[Event]:
        """The events an accepted command wrote, in order (empty if none)."""
        ...

    def stream_events(self, stream: str) -> list[Event]:
        """Every event of ``stream`` in version order (empty if it has none)."""
        ...

    def latest_events(self, prefix: str) -> dict[str, Event]:
        """The last event of every stream whose name starts with ``prefix``, by stream."""
        ...

    def posted_debits_since(self, account_id: str, since_us: int) -> int:
        """The sum of posted debits to the account effective at or after ``since_us``."""
        ...

    @property
    def closed_through_us(self) -> int:
        """The end of the last closed period (``ClosePeriod``), UTC microseconds; 0 if
        no period was ever closed. Nothing may be effective at or before it."""
        ...


@attrs.frozen
class NewEvent:
    """An event a decide function proposes: its stream, version and business time."""

    stream: str
    version: int
    event: Event
    effective_at_us: int
