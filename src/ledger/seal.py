"""A file written before personal data was sealed, copied into a new file under the scheme
(docs/personal-data.md, old files).

A ledger's log never changes, so a file whose personal text is plain (every file written
before subjects, such as a 0.1.0 file) keeps it. :func:`seal_copy` writes a **new** file
from it: every event at the same seq, stream, version, command and times, each account
the operator names given its subject, and every personal value sealed under that
subject's new data key; the idempotency index with each digest of a command that carried
a subject's personal text keyed as a new command's is (an HMAC of the old SHA-256 under
the subject's key, so a retry still finds its answer); the record of refusals with its
digests keyed under the ledger's names key and its details withheld (a refused command's
text is not in the log, and old details echoed some of it). The hash chain is new: the
payloads changed. :func:`check_sealed_copy` proves the copy against the old file, event
by event, opening every sealed value; the old file is left as it was, for the operator
to destroy.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path

import attrs
import msgspec

from ledger.accounts import is_valid_id
from ledger.book import Ledger
from ledger.errors import InvalidCommand, StoreError
from ledger.events import AccountOpened, Event, MoneyEvent
from ledger.keys import NAMES, KeyWrapper, keyed_digest
from ledger.personal import (
    LEGS,
    PERSONAL_EVENT_FIELDS,
    SEALED_FROM,
    SUBJECT,
    event_has_text,
    event_subject,
    opened_event,
)
from ledger.personal_ids import personal_id_part
from ledger.state import NewEvent
from ledger.store.base import GENESIS_HASH, RecordedEvent, StoredCommand, refusal_hash
from ledger.store.sql import SqlTransaction
from ledger.store.sqlite import SqliteStore

WITHHELD = "(withheld: recorded before personal data was sealed)"
"""A copied refusal's detail."""
_COMMANDS_A_TRANSACTION = 5_000


@attrs.frozen
class SealReport:
    """What :func:`seal_copy` wrote, and :func:`check_sealed_copy` found."""

    events: int
    commands: int
    refusals: int
    subjects: int
    keyed_digests: int
    """Index rows whose digest is now keyed with a subject's data key."""
    problems: tuple[str, ...] = ()
    plain_accounts: tuple[str, ...] = ()
    """Accounts given no subject whose events carry personal text: it stays in the clear
    in the copy too (name their customers in the subjects, and copy again)."""

    @property
    def ok(self) -> bool:
        return not self.problems


def _commands(book: Ledger) -> Iterator[list[RecordedEvent]]:
    """The old log, one accepted command's events at a time."""
    after = 0
    run: list[RecordedEvent] = []
    while True:
        page = book.store.read_events(after, 1_000)
        for rec in page:
            if run and rec.command_id != run[0].command_id:
                yield run
                run = []
            run.append(rec)
        if len(page) < 1_000:
            break
        after = page[-1].seq
    if run:
        yield run


def seal_copy(
    source: str | Path,
    target: str | Path,
    subjects: Mapping[str, str],
    master_key: KeyWrapper,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> SealReport:
    """Write ``target`` (a new SQLite file) from the ledger at ``source``, read-only, with
    each account of ``subjects`` (account id -> subject id) given its subject and every
    personal value sealed; then :func:`check_sealed_copy` it. :class:`InvalidCommand` for
    a subject id that is not an opaque id, or an account the source never opened;
    :class:`StoreError` if ``target`` holds a ledger already."""
    with Ledger.open(source, create=False, readonly=True) as old:
        if next(iter(old.store.subjects()), None) is not None:
            raise InvalidCommand(f"{source} has subjects already: its personal data is sealed")
        opened_ids = {a.id for a, _ in old.store.accounts()}
        unknown = sorted(set(subjects) - opened_ids)
        if unknown:
            raise InvalidCommand(f"no account {unknown[0]!r} in {source} to give a subject")
        zone = old.recorded_timezone
        with Ledger.open(target, master_key=master_key, timezone=zone) as new:
            store = new.store
            if not isinstance(store, SqliteStore) or store.head()[0]:
                raise StoreError(f"{target} must be a new SQLite ledger file")
            allowed = new.policy.personal.allowed_ids
            for account, subject in subjects.items():  # as OpenAccount checks a subject
                if not is_valid_id(subject) or personal_id_part(subject, allowed) is not None:
                    raise InvalidCommand(f"the subject of {account!r} is not an opaque id")
            index = dict(_index(old))
            total = old.head()[0]
            events = keyed = 0
            runs = _commands(old)
            structural = new.policy.personal.structural_metadata
            while batch := list(itertools.islice(runs, _COMMANDS_A_TRANSACTION)):
                with store.transaction(0, new.policy) as tx:
                    for run in batch:
                        stored = index.get(run[0].command_id)
                        if stored is None:
                            raise StoreError(
                                f"{source}: command {run[0].command_id!r} has no index row"
                            )
                        keyed += _copy_command(tx, run, stored, subjects, structural)
                        events += len(run)
                if progress is not None:
                    progress(events, total)
            refusals = _copy_refusals(old, new)
            seq, digest_hex = old.head()
            new.store.record_setting(SEALED_FROM, f"{seq}:{digest_hex}")
            subject_count = sum(1 for _ in new.store.subjects())
    report = check_sealed_copy(source, target, master_key)
    return attrs.evolve(
        report,
        keyed_digests=keyed,
        subjects=subject_count,
        refusals=refusals,
    )


def _copy_command(
    tx: SqlTransaction,
    run: list[RecordedEvent],
    stored: StoredCommand,
    subjects: Mapping[str, str],
    structural: Collection[str],
) -> int:
    """Append one old command's events, sealed, under its index digest (keyed with its
    subject's data key if it carried the subject's personal text); 1 if it was keyed."""

    def subject_of(account: str) -> str | None:
        found = tx.account(account)
        return found.subject if found is not None else subjects.get(account)

    fresh = [_with_subject(rec.event, subjects) for rec in run]
    owners = (event_subject(e, subject_of) for e in fresh if event_has_text(e, structural))
    subject = next((s for s in owners if s is not None), None)
    digest = stored.digest
    if subject is not None:
        creates = any(isinstance(e, AccountOpened) and e.subject == subject for e in fresh)
        digest = keyed_digest(tx.data_key(subject, create=creates), digest)
    news = [
        NewEvent(rec.stream, rec.version, e, rec.effective_at_us)
        for rec, e in zip(run, fresh, strict=True)
    ]
    tx.append(run[0].command_id, digest, news, recorded_us=run[0].recorded_at_us)
    return int(subject is not None)


def _index(book: Ledger) -> Iterator[tuple[str, StoredCommand]]:
    for command_id, _, _ in book.store.command_rows():
        found = book.store.find_result(command_id)
        if isinstance(found, StoredCommand):
            yield command_id, found


def _with_subject(event: Event, subjects: Mapping[str, str]) -> Event:
    if isinstance(event, AccountOpened) and event.account in subjects:
        return msgspec.structs.replace(event, subject=subjects[event.account])
    return event


def _copy_refusals(old: Ledger, new: Ledger) -> int:
    """The record of refusals, re-chained: each digest keyed under the names key, each
    detail withheld; numbers, codes, subjects, times and log heads as they were."""
    store = new.store
    assert isinstance(store, SqliteStore)
    rows = list(old.store.refusal_rows())
    if not rows:
        return 0
    with store.transaction(0, new.policy) as tx:
        names = tx.data_key(NAMES, create=True)
        previous = GENESIS_HASH
        out = []
        for row in rows:
            fields = (
                row.n,
                row.command_id,
                keyed_digest(names, row.digest),
                row.code,
                row.subject,
                WITHHELD,
                row.recorded_at_us,
                row.head_seq,
            )
            previous = refusal_hash(previous, *fields)
            out.append((*fields, previous))
        tx.insert_refusals(out)
    return len(rows)


def check_sealed_copy(source: str | Path, target: str | Path, master_key: KeyWrapper) -> SealReport:
    """Prove ``target`` a sealed copy of ``source``: the same events at the same places
    and times, each equal, once its sealed values are opened, to the old one (an opened
    account with the subject it was given); the same index (a digest kept, or keyed with
    the subject's key); the same record of refusals but for digests and details; the
    same balances; and ``verify`` clean on the copy. The problems found, if any."""
    from ledger.audit import verify

    problems: list[str] = []
    with (
        Ledger.open(source, create=False, readonly=True) as old,
        Ledger.open(target, create=False, readonly=True, master_key=master_key) as new,
    ):
        structural = new.policy.personal.structural_metadata
        count = 0
        commands: dict[str, set[str]] = {}
        plain: set[str] = set()

        def subject_of(account: str) -> str | None:
            found = new.store.account(account)
            return None if found is None else found.subject

        pairs = itertools.zip_longest(old.events(), new.events())
        for before, after in pairs:
            if before is None or after is None:
                problems.append("the copy holds another number of events")
                break
            count += 1
            owners = commands.setdefault(before.command_id, set())
            if event_has_text(after.event, structural):
                owner = event_subject(after.event, subject_of)
                if owner is None:
                    plain.update(_owning_accounts(after.event))
                else:
                    owners.add(owner)
            same = (
                before.seq,
                before.stream,
                before.version,
                before.command_id,
                before.type,
                before.recorded_at_us,
                before.effective_at_us,
            ) == (
                after.seq,
                after.stream,
                after.version,
                after.command_id,
                after.type,
                after.recorded_at_us,
                after.effective_at_us,
            )
            opened = opened_event(after.event, new.reveal, structural)
            expected = before.event
            if isinstance(opened, AccountOpened) and isinstance(expected, AccountOpened):
                expected = msgspec.structs.replace(expected, subject=opened.subject)
            if not same or opened != expected:
                problems.append(f"seq {before.seq}: the copy's event is not the old one sealed")
                if len(problems) > 20:
                    break
        for command_id, owners in sorted(commands.items()):
            a, b = old.store.find_result(command_id), new.store.find_result(command_id)
            if not (isinstance(a, StoredCommand) and isinstance(b, StoredCommand)) or (
                a.first_seq,
                a.last_seq,
            ) != (b.first_seq, b.last_seq):
                problems.append(f"command {command_id!r}: the index rows differ")
            elif b.digest not in _digests(new, a.digest, owners):
                problems.append(f"command {command_id!r}: its digest is not the old one's")
        before_rows, after_rows = list(old.store.refusal_rows()), list(new.store.refusal_rows())
        if [(r.n, r.command_id, r.code, r.subject) for r in before_rows] != [
            (r.n, r.command_id, r.code, r.subject) for r in after_rows
        ]:
            problems.append("the record of refusals differs")
        elif after_rows:
            names = new.store.data_key(NAMES)
            for r, c in zip(before_rows, after_rows, strict=True):
                if names is None or c.digest != keyed_digest(names, r.digest):
                    problems.append(f"refusal {r.n}: its digest is not the old one's")
                    break
        if old.balances() != new.balances():
            problems.append("the balances differ")
        report = verify(new)
        problems += [f"verify: {f.check} at seq {f.seq}: {f.detail}" for f in report.findings]
    return SealReport(
        count,
        len(commands),
        len(after_rows),
        0,
        0,
        tuple(problems),
        tuple(sorted(plain)),
    )


def _digests(book: Ledger, old: bytes, subjects: set[str]) -> set[bytes]:
    """The digests a copied command may have: the old one if it carries no subject's
    text, else it keyed with the data key of a subject whose text it carries."""
    found = set() if subjects else {old}
    for subject in subjects:
        key = book.store.data_key(subject)
        if key is not None:
            found.add(keyed_digest(key, old))
    return found


def _owning_accounts(event: Event) -> list[str]:
    """The accounts whose customer owns ``event``'s personal text (by its declared
    owner: a field naming the account, the account opened, or every leg)."""
    owner = PERSONAL_EVENT_FIELDS[type(event)][0]
    if owner == SUBJECT and isinstance(event, AccountOpened):
        return [event.account]
    if owner == LEGS and isinstance(event, MoneyEvent):
        return [p.account for p in event.postings]
    named = getattr(event, owner, None)
    return [named] if isinstance(named, str) else []
