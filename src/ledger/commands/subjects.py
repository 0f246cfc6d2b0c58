"""Commands about the subjects personal data belongs to: erasure (docs/personal-data.md)."""

from __future__ import annotations

import attrs

from ledger.commands.base import Command, text


@attrs.frozen
class EraseSubject(Command):
    """Erase ``subject``'s personal data: its data key is destroyed, so every value sealed
    under it (account metadata, memos, references) is unreadable for good, while the
    amounts, accounts and the hash chain stay as they are. ``reason`` is the operator's
    reference for the erasure (a request or ticket number): it stays in the log, so it
    must not itself be personal data.

    Rejects: subject_not_found (no account or key names it), subject_erased (already
    erased), subject_has_open_accounts (one of its accounts is open or frozen),
    retention_running (the policy's retention period after its last account closed has
    not ended), field_invalid (``reason``).
    """

    subject: str = attrs.field(kw_only=True, validator=text)
    reason: str = attrs.field(default="", kw_only=True, validator=text)
