"""What ``submit`` returns: ``Accepted`` or ``Rejected``, one per command."""

from __future__ import annotations

import attrs

from ledger.errors import RejectCode


@attrs.frozen
class Accepted:
    """The command's effect is in the log at or before ``seq``.

    ``seq`` is the last event the command wrote. ``replayed`` is True when nothing new was
    written: an idempotent retry (the original ``seq`` comes back) or a command whose
    effect was already in place (opening an identical account; ``seq`` is then the head).
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
