"""What ``submit`` returns: ``Accepted`` or ``Rejected``, one per command."""

from __future__ import annotations

import attrs

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


@attrs.frozen
class Rejected:
    """The command was refused with a stable ``code``; nothing was appended."""

    code: RejectCode
    detail: str
    id: str = ""


Result = Accepted | Rejected
