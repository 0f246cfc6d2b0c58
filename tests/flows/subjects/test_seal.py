"""A file whose personal data is plain, copied into a new file under the scheme and proved
against the old one (ledger.seal)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import attrs
import pytest
from click.testing import CliRunner

from ledger import (
    Accepted,
    Credit,
    Debit,
    InvalidCommand,
    Ledger,
    MasterKey,
    PostEntry,
    RejectCode,
    Rejected,
    StoreError,
    TopUp,
    Transfer,
)
from ledger.audit import verify
from ledger.chart import Chart
from ledger.cli import main
from ledger.keys import is_sealed
from ledger.seal import WITHHELD, check_sealed_copy, seal_copy
from tests.conftest import FakeClock

KEY = MasterKey(bytes(range(32)))
FROZEN = Path(__file__).parents[2] / "frozen" / "satang-0.1.0.db"
MEMO = "for Somchai's rent, tel 0812345678"
CHART = Chart()


def _plain(path: Path, clock: FakeClock) -> dict[str, object]:
    """A ledger written the old way (no subjects): memos in the clear, one refused."""
    with Ledger.open(path, clock=clock) as book:
        book.open_chart()
        book.submit_many(
            [
                CHART.open_wallet("wallet:U1", metadata={"name": "Somchai Jaidee"}),
                CHART.open_wallet("wallet:U2"),
                TopUp(id="fund", wallet="wallet:U1", amount_minor=10_000, channel="bank"),
            ]
        )
        commands: dict[str, object] = {
            "pay-rent": Transfer(
                id="pay-rent", source="wallet:U1", destination="wallet:U2", amount_minor=500,
                memo=MEMO,
            ),
            "too-much": Transfer(
                id="too-much", source="wallet:U1", destination="wallet:U2",
                amount_minor=10**9, memo=MEMO,
            ),
            "plain": PostEntry(
                id="plain", kind="adjustment",
                postings=[Debit(CHART.bank_trust, 5), Credit("wallet:U2", 5)],
            ),
        }  # fmt: skip
        for command in commands.values():
            book.submit(command)  # type: ignore[arg-type]
        assert isinstance(book.result("too-much"), Rejected)
    return commands


def test_a_plain_file_is_copied_sealed_and_proved(tmp_path: Path, clock: FakeClock) -> None:
    old, new = tmp_path / "old.db", tmp_path / "new.db"
    commands = _plain(old, clock)
    before = old.read_bytes()
    report = seal_copy(old, new, {"wallet:U1": "C1"}, KEY)
    assert report.ok, report.problems
    assert (report.refusals, report.subjects, report.keyed_digests) == (1, 1, 2)
    assert old.read_bytes() == before  # the old file stays as it was
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("new.db"))
    assert MEMO.encode() not in data and b"Somchai Jaidee" not in data
    with Ledger.open(new, clock=clock, master_key=KEY) as book:
        account = book.account("wallet:U1")
        assert account.subject == "C1" and is_sealed(account.metadata["name"])
        assert book.reveal(account.metadata["name"]) == "Somchai Jaidee"
        assert book.account("wallet:U2").subject is None
        # every retry finds its first answer: accepted, refused, and one with no text
        for command_id, command in commands.items():
            again = book.submit(command)  # type: ignore[arg-type]
            assert again.replayed, (command_id, again)
        refused = book.submit(commands["too-much"])  # type: ignore[arg-type]
        assert isinstance(refused, Rejected) and refused.code is RejectCode.INSUFFICIENT_FUNDS
        assert refused.detail == WITHHELD
        assert verify(book).ok


def test_the_frozen_0_1_0_file_is_copied_sealed(tmp_path: Path) -> None:
    old, new = tmp_path / "old.db", tmp_path / "new.db"
    shutil.copyfile(FROZEN, old)
    report = seal_copy(old, new, {"wallet:C00003": "C3", "wallet:C00004": "C4"}, KEY)
    assert report.ok, report.problems
    assert report.events == Ledger.open(old, readonly=True).head()[0]
    with Ledger.open(new, master_key=KEY, readonly=True) as book:
        assert book.subject("C4").accounts == 1
        memos = [
            r.event.memo  # type: ignore[union-attr]
            for r in book.events()
            if r.type in ("entry_posted", "entry_reversed") and "C00004" in str(r.event)
        ]
    assert memos and all(is_sealed(m) for m in memos if m)


def test_a_changed_copy_is_not_proved(tmp_path: Path, clock: FakeClock) -> None:
    old, new = tmp_path / "old.db", tmp_path / "new.db"
    _plain(old, clock)
    assert seal_copy(old, new, {"wallet:U1": "C1"}, KEY).ok
    conn = sqlite3.connect(new)
    conn.execute("UPDATE subjects SET open_accounts = 0 WHERE subject = 'C1'")
    conn.commit()
    conn.close()
    problems = check_sealed_copy(old, new, KEY).problems
    assert any(p.startswith("verify: subjects") for p in problems)


def test_a_copy_is_refused_onto_a_ledger_or_with_a_subject_that_is_not_opaque(
    tmp_path: Path, clock: FakeClock
) -> None:
    old = tmp_path / "old.db"
    _plain(old, clock)
    with pytest.raises(InvalidCommand, match="not an opaque id"):
        seal_copy(old, tmp_path / "a.db", {"wallet:U1": "0812345678"}, KEY)
    with pytest.raises(InvalidCommand, match="no account"):
        seal_copy(old, tmp_path / "b.db", {"wallet:nobody": "C9"}, KEY)
    with pytest.raises(StoreError, match="new SQLite ledger"):
        seal_copy(old, old, {"wallet:U1": "C1"}, KEY)
    sealed = tmp_path / "sealed.db"
    assert seal_copy(old, sealed, {"wallet:U1": "C1"}, KEY).ok
    with pytest.raises(InvalidCommand, match="has subjects already"):
        seal_copy(sealed, tmp_path / "c.db", {"wallet:U1": "C1"}, KEY)
    assert isinstance(
        Ledger.open(old, readonly=True).result("pay-rent"), Accepted
    )  # nothing of the old file was touched


def test_an_unfreeze_reason_is_sealed_under_the_accounts_subject(tmp_path: Path) -> None:
    old, new = tmp_path / "old.db", tmp_path / "new.db"
    shutil.copyfile(FROZEN, old)
    seal_copy(old, new, {"wallet:C00003": "C3"}, KEY)
    with Ledger.open(new, master_key=KEY, readonly=True) as book:
        (unfreeze,) = [r.event for r in book.events() if r.command_id == "frozen-unfreeze"]
        assert is_sealed(unfreeze.reason)  # type: ignore[attr-defined]
        assert book.reveal(unfreeze.reason) == "cleared"  # type: ignore[attr-defined]


def test_satang_seal_copies_and_proves(tmp_path: Path, clock: FakeClock) -> None:
    old, new = tmp_path / "old.db", tmp_path / "new.db"
    _plain(old, clock)
    (tmp_path / "subjects.csv").write_text("# account,subject\nwallet:U1,C1\n")
    (tmp_path / "master.key").write_text(KEY.hex() + "\n")
    done = CliRunner().invoke(
        main,
        [
            "seal", "--from", str(old), "--to", str(new),
            "--subjects", str(tmp_path / "subjects.csv"),
            "--master-key-file", str(tmp_path / "master.key"),
        ],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "1 subjects, 2 digests keyed" in done.output and "proved against" in done.output
    (tmp_path / "bad.csv").write_text("wallet:U1\n")
    bad = CliRunner().invoke(
        main,
        ["seal", "--from", str(old), "--to", str(tmp_path / "x.db"),
         "--subjects", str(tmp_path / "bad.csv"),
         "--master-key-file", str(tmp_path / "master.key")],
    )  # fmt: skip
    assert bad.exit_code == 1 and "account,subject" in bad.output


def test_the_copy_keeps_every_retry_and_names_what_it_left_in_the_clear(
    tmp_path: Path, clock: FakeClock
) -> None:
    old, new = tmp_path / "old.db", tmp_path / "new.db"
    commands = _plain(old, clock)
    with Ledger.open(old, clock=clock) as book:  # a customer the operator forgets to name
        book.submit(CHART.open_wallet("wallet:U3", metadata={"name": "Malee Srisuk"}))
    report = seal_copy(old, new, {"wallet:U1": "C1"}, KEY)
    assert report.ok and report.plain_accounts == ("wallet:U3",)
    with Ledger.open(new, clock=clock, master_key=KEY) as book:
        opened = book.submit(CHART.open_wallet("wallet:U1", metadata={"name": "Somchai Jaidee"}))
        assert isinstance(opened, Accepted) and opened.replayed  # the old command, as it was
        other = attrs.evolve(commands["pay-rent"], amount_minor=501)
        assert book.submit(other).code is RejectCode.IDEMPOTENCY_CONFLICT  # type: ignore[union-attr]


def test_a_copy_whose_digests_were_changed_is_not_proved(tmp_path: Path, clock: FakeClock) -> None:
    old, new = tmp_path / "old.db", tmp_path / "new.db"
    _plain(old, clock)
    assert seal_copy(old, new, {"wallet:U1": "C1"}, KEY).ok
    conn = sqlite3.connect(new)
    conn.execute("DROP TRIGGER commands_no_update")
    conn.execute("UPDATE commands SET digest = zeroblob(32) WHERE command_id = 'pay-rent'")
    conn.commit()
    conn.close()
    problems = check_sealed_copy(old, new, KEY).problems
    assert "command 'pay-rent': its digest is not the old one's" in problems
