"""Subjects: personal text sealed under each customer's data key, keyed digests, the
master key, and erasure after retention (docs/personal-data.md)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import attrs
import pytest
from click.testing import CliRunner

from ledger import (
    Accepted,
    CloseAccount,
    Credit,
    Debit,
    EraseSubject,
    InvalidCommand,
    Ledger,
    MasterKey,
    MasterKeyMissing,
    MasterKeyWrong,
    OpenAccount,
    Pay,
    PayBill,
    PersonalDataPolicy,
    PostEntry,
    RejectCode,
    Rejected,
    TopUp,
    Transfer,
    UnknownSubject,
    Withdraw,
)
from ledger.audit import verify
from ledger.chart import Chart
from ledger.cli import main
from ledger.commands import canonical_bytes
from ledger.keys import ERASED, SEALED, is_sealed
from projections.base import canonical_dump
from projections.runner import Runner
from tests.conftest import FakeClock, assert_accepted, assert_rejected, unchanged

NAME = "Somchai Jaidee"
PHONE = "0812345678"
MEMO = "rent for Malee, room 4B"
REFERENCE = "order 77 for Somchai"
KEY = MasterKey(bytes(range(32)))
CHART = Chart()


def _wallet(account: str, subject: str | None, **metadata: str) -> OpenAccount:
    return CHART.open_wallet(account, subject=subject, metadata=metadata)


def _build(ledger: Ledger) -> Ledger:
    """The chart, merchant M1, two customers' wallets with personal metadata and a float
    wallet of no subject, each funded."""
    ledger.open_chart()
    assert_accepted(ledger, CHART.open_merchant("M1"))
    for command in (
        _wallet("wallet:U1", "cust-1", name=NAME, phone=PHONE),
        _wallet("wallet:U2", "cust-2", name="Malee"),
        _wallet("wallet:SYS", None, note="float wallet"),
    ):
        assert_accepted(ledger, command)
    for n, wallet in enumerate(("wallet:U1", "wallet:U2", "wallet:SYS")):
        assert_accepted(
            ledger,
            TopUp(
                id=f"fund-{n}",
                wallet=wallet,
                amount_minor=100_000,
                channel="bank",
                funding_account=CHART.bank_trust,
            ),
        )
    return ledger


@pytest.fixture(params=["memory", "file", "postgres"])
def book(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Ledger]:
    path: str | Path = {"memory": ":memory:", "file": tmp_path / "x.db"}.get(
        request.param
    ) or request.getfixturevalue("pg_dsn")
    with Ledger.open(path, clock=clock, master_key=KEY) as ledger:
        yield _build(ledger)


@pytest.fixture
def built(tmp_path: Path, clock: FakeClock) -> Path:
    """A file :func:`_build` wrote, closed."""
    path = tmp_path / "built.db"
    with Ledger.open(path, clock=clock, master_key=KEY) as ledger:
        _build(ledger)
    return path


def _payloads(book: Ledger) -> bytes:
    return b"".join(r.payload for r in book.events())


def test_personal_metadata_is_sealed_and_structural_keys_stay_plain(book: Ledger) -> None:
    account = book.account("wallet:U1")
    assert account.subject == "cust-1"
    assert account.metadata["wallet_type"] == "consumer"
    assert is_sealed(account.metadata["name"]) and is_sealed(account.metadata["phone"])
    assert book.reveal(account.metadata["name"]) == NAME
    assert book.reveal(account.metadata["phone"]) == PHONE
    assert NAME.encode() not in _payloads(book)
    assert PHONE.encode() not in _payloads(book)
    # an account without a subject is not a customer's: its metadata stays as written
    assert book.account("wallet:SYS").metadata["note"] == "float wallet"


def test_free_text_is_sealed_under_the_initiating_wallets_subject(book: Ledger) -> None:
    assert_accepted(
        book,
        Transfer(id="t1", source="wallet:U1", destination="wallet:U2", amount_minor=10, memo=MEMO),
    )
    assert_accepted(
        book, Pay(id="p1", wallet="wallet:U2", merchant="M1", amount_minor=10, reference=REFERENCE)
    )
    transfer = next(r.event for r in book.events() if r.command_id == "t1")
    payment = next(r.event for r in book.events() if r.command_id == "p1")
    assert is_sealed(transfer.memo) and transfer.memo.startswith("\x1bS1:cust-1:")
    assert is_sealed(payment.reference) and payment.reference.startswith("\x1bS1:cust-2:")
    assert book.reveal(transfer.memo) == MEMO
    assert book.reveal(payment.reference) == REFERENCE
    assert MEMO.encode() not in _payloads(book)
    assert REFERENCE.encode() not in _payloads(book)


def test_a_digest_of_personal_text_is_keyed_and_a_retry_still_finds_its_answer(
    book: Ledger,
) -> None:
    command = Pay(id="p1", wallet="wallet:U1", merchant="M1", amount_minor=10, reference=PHONE)
    first = assert_accepted(book, command)
    plain = hashlib.sha256(canonical_bytes(command)).digest()
    assert book.store.find_result("p1").digest != plain  # type: ignore[union-attr]
    again = book.submit(command)
    assert isinstance(again, Accepted) and again.replayed and again.seq == first.seq
    other = Pay(id="p1", wallet="wallet:U1", merchant="M1", amount_minor=10, reference="0899999999")
    assert_rejected(book, other, RejectCode.IDEMPOTENCY_CONFLICT)


def test_a_refused_command_with_personal_text_records_a_keyed_digest(book: Ledger) -> None:
    command = Transfer(
        id="t-big", source="wallet:U1", destination="wallet:U2", amount_minor=10**9, memo=MEMO
    )
    first = book.submit(command)
    assert isinstance(first, Rejected) and first.code is RejectCode.INSUFFICIENT_FUNDS
    plain = hashlib.sha256(canonical_bytes(command)).digest()
    assert book.store.find_result("t-big").digest != plain  # type: ignore[union-attr]
    assert book.submit(command).replayed  # type: ignore[union-attr]


def test_without_a_master_key_personal_text_writes_nothing_and_the_rest_works(
    built: Path, clock: FakeClock
) -> None:
    with Ledger.open(built, clock=clock) as keyless:
        with unchanged(keyless):
            with pytest.raises(MasterKeyMissing):
                keyless.submit(
                    Transfer(
                        id="t1",
                        source="wallet:U1",
                        destination="wallet:U2",
                        amount_minor=1,
                        memo=MEMO,
                    )
                )
            with pytest.raises(MasterKeyMissing):
                keyless.submit(_wallet("wallet:U9", "cust-9", name="Niran"))
        assert_accepted(keyless, Withdraw(id="w1", wallet="wallet:U1", amount_minor=5))
        assert keyless.balance("wallet:U1").available == 99_995
        assert verify(keyless).ok
        with pytest.raises(MasterKeyMissing):
            keyless.reveal(keyless.account("wallet:U1").metadata["name"])


def test_a_wrong_master_key_is_a_clear_error_and_writes_nothing(
    built: Path, clock: FakeClock
) -> None:
    with Ledger.open(built, clock=clock, master_key=MasterKey.generate()) as wrong:
        with unchanged(wrong), pytest.raises(MasterKeyWrong, match="wrapped by master key"):
            wrong.submit(
                Pay(id="p1", wallet="wallet:U1", merchant="M1", amount_minor=1, reference="x")
            )
        with pytest.raises(MasterKeyWrong):
            wrong.reveal(wrong.account("wallet:U1").metadata["name"])


def test_a_tampered_key_store_does_not_open(built: Path, clock: FakeClock) -> None:
    path = built
    conn = sqlite3.connect(path)
    rows = dict(conn.execute("SELECT subject, wrapped FROM subject_keys").fetchall())
    # the two subjects' wrapped keys swapped: each is bound to its subject
    conn.execute("UPDATE subject_keys SET wrapped = ? WHERE subject = 'cust-1'", (rows["cust-2"],))
    conn.commit()
    conn.close()
    with Ledger.open(path, clock=clock, master_key=KEY) as reopened:
        with pytest.raises(MasterKeyWrong):
            reopened.reveal(reopened.account("wallet:U1").metadata["name"])
        assert reopened.reveal(reopened.account("wallet:U2").metadata["name"]) == "Malee"


def test_erasure_is_refused_while_an_account_is_open_or_retention_runs(
    book: Ledger, clock: FakeClock
) -> None:
    assert_rejected(book, EraseSubject(id="e0", subject="nobody"), RejectCode.SUBJECT_NOT_FOUND)
    assert_rejected(
        book, EraseSubject(id="e1", subject="cust-1"), RejectCode.SUBJECT_HAS_OPEN_ACCOUNTS
    )
    _empty_and_close(book, "wallet:U1")
    assert_rejected(book, EraseSubject(id="e2", subject="cust-1"), RejectCode.RETENTION_RUNNING)
    clock.advance(timedelta(days=365 * 5))  # not yet five calendar years (a leap day)
    assert_rejected(book, EraseSubject(id="e3", subject="cust-1"), RejectCode.RETENTION_RUNNING)
    clock.advance(timedelta(days=2))
    assert_accepted(book, EraseSubject(id="e4", subject="cust-1", reason="PDPA-REQ-1"))
    assert_rejected(book, EraseSubject(id="e5", subject="cust-1"), RejectCode.SUBJECT_ERASED)
    assert book.subject("cust-1").erased
    with pytest.raises(UnknownSubject):
        book.subject("nobody")


def _empty_and_close(book: Ledger, wallet: str) -> None:
    available = book.balance(wallet).available
    assert_accepted(book, Withdraw(id=f"empty-{wallet}", wallet=wallet, amount_minor=available))
    assert_accepted(book, CloseAccount(id=f"close-{wallet}", account=wallet))


def test_after_an_erasure_its_text_reads_as_erased_and_the_books_are_unchanged(
    book: Ledger, clock: FakeClock
) -> None:
    assert_accepted(
        book,
        Transfer(id="t1", source="wallet:U1", destination="wallet:U2", amount_minor=10, memo=MEMO),
    )
    _empty_and_close(book, "wallet:U1")
    balances = book.balances()
    clock.advance(timedelta(days=366 * 5))
    assert_accepted(book, EraseSubject(id="erase-1", subject="cust-1", reason="PDPA-REQ-1"))
    assert book.store.shred_pending is False  # type: ignore[attr-defined]
    assert [s for s, _, _ in book.store.key_rows()] == ["cust-2"]
    assert book.balances() == balances
    transfer = next(r.event for r in book.events() if r.command_id == "t1")
    assert book.reveal(transfer.memo) == ERASED
    assert book.reveal(book.account("wallet:U1").metadata["name"]) == ERASED
    assert book.account("wallet:U1").metadata["wallet_type"] == "consumer"
    # the other customer's data is untouched
    assert book.reveal(book.account("wallet:U2").metadata["name"]) == "Malee"
    assert verify(book).ok
    assert_rejected(book, _wallet("wallet:U1b", "cust-1", name="again"), RejectCode.SUBJECT_ERASED)


def test_erasure_leaves_no_copy_of_the_key_or_the_text_in_the_file_or_its_wal(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "erase.db"
    with Ledger.open(path, clock=clock, master_key=KEY) as book:
        book.open_chart()
        assert_accepted(book, _wallet("wallet:U1", "cust-1", name=NAME))
        assert_accepted(
            book,
            TopUp(
                id="f",
                wallet="wallet:U1",
                amount_minor=10,
                channel="bank",
                funding_account=CHART.bank_trust,
            ),
        )
        key = book.store.data_key("cust-1")
        wrapped = book.store.key_rows()[0][2]
        assert key is not None
        _empty_and_close(book, "wallet:U1")
        clock.advance(timedelta(days=366 * 5))
        files = [p for p in tmp_path.iterdir() if p.name.startswith("erase.db")]
        before = b"".join(p.read_bytes() for p in files)
        assert wrapped in before  # the scan finds what is there
        assert_accepted(book, EraseSubject(id="erase", subject="cust-1"))
        after = b"".join(
            p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("erase.db")
        )
        assert wrapped not in after and key not in after
        assert NAME.encode() not in after
        assert verify(book).ok


def test_a_customers_bill_reference_is_sealed_and_names_its_bill_by_a_keyed_digest(
    book: Ledger,
) -> None:
    assert_accepted(book, CHART.open_biller("B1"))
    bill = PayBill(id="b1", wallet="wallet:U1", biller="B1", bill_reference=PHONE, amount_minor=500)
    assert_accepted(book, bill)
    record = next(r for r in book.events() if r.command_id == "b1")
    assert PHONE not in record.stream and record.stream.startswith("bill:B1/#")
    assert is_sealed(record.event.bill_reference)
    assert book.reveal(record.event.bill_reference) == PHONE
    # paid once across every payer: a customer, or a wallet of no subject
    for wallet in ("wallet:U2", "wallet:SYS"):
        again = attrs.evolve(bill, id=f"b-{wallet}", wallet=wallet)
        refused = assert_rejected(book, again, RejectCode.BILL_ALREADY_PAID)
        assert PHONE not in refused.detail


def test_a_bill_paid_in_the_clear_before_is_found_by_a_customers_payment(book: Ledger) -> None:
    assert_accepted(book, CHART.open_biller("B1"))
    plain = PayBill(
        id="b0", wallet="wallet:SYS", biller="B1", bill_reference="INV-9", amount_minor=500
    )
    assert_accepted(book, plain)
    assert next(r for r in book.events() if r.command_id == "b0").stream == "bill:B1/INV-9"
    customer = attrs.evolve(plain, id="b1", wallet="wallet:U1")
    assert_rejected(book, customer, RejectCode.BILL_ALREADY_PAID)


def test_a_subjects_data_is_everything_about_it_opened_and_nothing_of_anyone_else(
    book: Ledger,
) -> None:
    assert_accepted(
        book,
        Transfer(id="t1", source="wallet:U1", destination="wallet:U2", amount_minor=10, memo=MEMO),
    )
    assert_accepted(
        book, Pay(id="p1", wallet="wallet:U2", merchant="M1", amount_minor=10, reference=REFERENCE)
    )
    mine = book.subject_data("cust-1")
    assert mine["subject"] == "cust-1" and not mine["erased"]
    assert [a["id"] for a in mine["accounts"]] == ["wallet:U1"]
    assert mine["accounts"][0]["metadata"] == {
        "name": NAME,
        "phone": PHONE,
        "wallet_type": "consumer",
    }
    by_command = {e["command_id"]: e for e in mine["events"]}
    assert by_command["t1"]["event"]["memo"] == MEMO
    assert "p1" not in by_command  # the other customer's payment does not name cust-1
    theirs = book.subject_data("cust-2")
    shared = next(e for e in theirs["events"] if e["command_id"] == "t1")
    assert shared["event"]["memo"] == SEALED  # cust-1's memo stays cust-1's
    assert (
        next(e for e in theirs["events"] if e["command_id"] == "p1")["event"]["reference"]
        == REFERENCE
    )
    text = json.dumps(theirs, ensure_ascii=False)
    assert NAME not in text and PHONE not in text and MEMO not in text
    with pytest.raises(UnknownSubject):
        book.subject_data("nobody")


def test_satang_subject_export_prints_a_subjects_data(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "master.key"
    key_file.write_text(KEY.hex() + "\n")
    args = ["subject", "export", "cust-1", "--db", str(built)]
    shown = CliRunner().invoke(main, [*args, "--master-key-file", str(key_file)])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["accounts"][0]["metadata"]["name"] == NAME
    monkeypatch.setenv("SATANG_MASTER_KEY", KEY.hex())
    assert json.loads(CliRunner().invoke(main, args).output)["subject"] == "cust-1"
    monkeypatch.delenv("SATANG_MASTER_KEY")
    missing = CliRunner().invoke(main, args)
    assert missing.exit_code == 1 and "SATANG_MASTER_KEY" in missing.output


def test_an_opaque_id_is_stable_while_its_subject_lives_and_erased_with_it(
    book: Ledger, clock: FakeClock
) -> None:
    first = book.opaque_id("cust-1", PHONE)
    assert first == book.opaque_id("cust-1", PHONE)
    assert first != book.opaque_id("cust-2", PHONE) != book.opaque_id("cust-1", "0899999999")
    assert PHONE not in first and len(first) == 26
    # a new customer's first id makes its key: its wallet then opens under that id
    new = book.opaque_id("cust-3", "0811111111")
    assert_accepted(book, _wallet(f"wallet:{new}", "cust-3", name="Niran"))
    with pytest.raises(InvalidCommand):
        book.opaque_id(PHONE, "x")  # the subject id itself must be opaque
    _empty_and_close(book, "wallet:U1")
    clock.advance(timedelta(days=366 * 5))
    assert_accepted(book, EraseSubject(id="erase", subject="cust-1"))
    with pytest.raises(InvalidCommand, match="erased"):
        book.opaque_id("cust-1", PHONE)
    assert verify(book).ok


def test_a_master_key_rotation_rewraps_every_key_and_leaves_the_log(
    built: Path, clock: FakeClock
) -> None:
    new = MasterKey.generate()
    with Ledger.open(built, clock=clock, master_key=KEY) as book:
        head = book.head()
        assert book.rotate_master_key(new) == 2
        assert book.head() == head
        assert book.reveal(book.account("wallet:U1").metadata["name"]) == NAME
        assert {key_id for _, key_id, _ in book.store.key_rows()} == {new.key_id}
    with Ledger.open(built, clock=clock, master_key=KEY) as old:
        with pytest.raises(MasterKeyWrong):
            old.reveal(old.account("wallet:U1").metadata["name"])
        with unchanged(old), pytest.raises(MasterKeyWrong):
            old.rotate_master_key(MasterKey.generate())  # the old key opens nothing now
    with Ledger.open(built, clock=clock, master_key=new) as book:
        assert book.reveal(book.account("wallet:U2").metadata["name"]) == "Malee"
        assert verify(book).ok


def test_a_command_id_holding_a_phone_number_is_refused_and_not_recorded(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "ids.db"
    top_up = TopUp(id=f"top-up:{PHONE}", wallet="wallet:U1", amount_minor=5, channel="bank")
    allowing = PersonalDataPolicy(allowed_ids=frozenset({PHONE}))
    with Ledger.open(path, clock=clock, master_key=KEY, personal=allowing) as book:
        _build(book)
        first = assert_accepted(book, top_up)  # an operator's allow-list let it in
    with Ledger.open(path, clock=clock, master_key=KEY) as book:
        again = book.submit(top_up)  # a retry of a command already in the file
        assert isinstance(again, Accepted) and again.replayed and again.seq == first.seq
        with unchanged(book):
            refused = book.submit(attrs.evolve(top_up, id=f"top-up-2:{PHONE}"))
            assert isinstance(refused, Rejected) and refused.code is RejectCode.ID_PERSONAL
            assert PHONE not in refused.detail
            assert book.result(f"top-up-2:{PHONE}") is None  # not recorded: no id in the clear
        for command in (
            CHART.open_wallet("wallet:x", subject="1101700207030"),  # a national ID
            Transfer(id="t-x", source="wallet:U1", destination=f"wallet:{PHONE}", amount_minor=1),
            EraseSubject(id="e-x", subject=PHONE),
        ):
            with unchanged(book):
                refused = book.submit(command)
                assert isinstance(refused, Rejected), refused
                assert book.result(command.id) is None  # its id would be kept in the clear
            assert PHONE not in refused.detail or command.id == "t-x"


def test_read_models_folded_before_an_erasure_equal_a_rebuild_after_it(
    book: Ledger, clock: FakeClock, tmp_path: Path
) -> None:
    assert_accepted(
        book,
        Transfer(id="t1", source="wallet:U1", destination="wallet:U2", amount_minor=10, memo=MEMO),
    )
    _empty_and_close(book, "wallet:U1")
    with Runner(book, tmp_path / "read.db") as runner:
        runner.catch_up()
        clock.advance(timedelta(days=366 * 5))
        assert_accepted(book, EraseSubject(id="erase", subject="cust-1"))
        runner.catch_up()
        with runner.rebuild_into(":memory:") as rebuilt:
            assert canonical_dump(rebuilt.db, rebuilt.projections) == canonical_dump(
                runner.db, runner.projections
            )
    read = (tmp_path / "read.db").read_bytes()
    assert MEMO.encode() not in read and NAME.encode() not in read


def test_text_whose_owner_is_not_open_keeps_no_digest_of_it_and_its_retry_its_answer(
    book: Ledger,
) -> None:
    early = Pay(id="p-early", wallet="wallet:later", merchant="M1", amount_minor=1, reference=PHONE)
    first = book.submit(early)
    assert isinstance(first, Rejected) and first.code is RejectCode.ACCOUNT_NOT_FOUND
    stored = book.store.find_result("p-early")
    assert stored is not None
    assert stored.digest != hashlib.sha256(canonical_bytes(early)).digest()
    assert_accepted(book, _wallet("wallet:later", "cust-9", name="Later"))
    again = book.submit(early)  # now its owner is a subject's wallet: still its first answer
    assert again == attrs.evolve(first, replayed=True)


def test_after_an_erasure_a_retry_still_gets_its_first_answer(
    book: Ledger, clock: FakeClock
) -> None:
    paid = assert_accepted(
        book, Pay(id="p1", wallet="wallet:U1", merchant="M1", amount_minor=10, reference=MEMO)
    )
    _empty_and_close(book, "wallet:U1")
    clock.advance(timedelta(days=366 * 5))
    assert_accepted(book, EraseSubject(id="erase", subject="cust-1"))
    again = book.submit(
        Pay(id="p1", wallet="wallet:U1", merchant="M1", amount_minor=10, reference=MEMO)
    )
    assert isinstance(again, Accepted) and again.replayed and again.seq == paid.seq


def test_a_second_master_key_adds_no_key_to_the_key_store(built: Path, clock: FakeClock) -> None:
    other = MasterKey.generate()
    with Ledger.open(built, clock=clock, master_key=other) as book:
        with unchanged(book), pytest.raises(MasterKeyWrong, match="no key is added"):
            book.submit(_wallet("wallet:U9", "cust-9", name="Niran"))
        assert_accepted(book, Withdraw(id="w", wallet="wallet:U1", amount_minor=1))
    conn = sqlite3.connect(built)
    conn.execute("INSERT INTO subject_keys VALUES ('cust-9', ?, ?)", (other.key_id, b"\x00" * 60))
    conn.execute("INSERT INTO subjects (subject, accounts, open_accounts) VALUES ('cust-9', 0, 0)")
    conn.commit()
    conn.close()
    with Ledger.open(built, clock=clock) as book:
        found = verify(book).findings
    assert [f.check for f in found] == ["subjects"] and "2 master keys" in found[0].detail


def test_a_refusal_recorded_plain_before_sealing_still_answers_its_retry(built: Path) -> None:
    """A file written before personal data was sealed kept a plain SHA-256 for a command
    whose owner was not open: its retry still finds the refusal."""
    early = Pay(id="p-old", wallet="wallet:gone", merchant="M1", amount_minor=1, reference=MEMO)
    with Ledger.open(built, master_key=KEY) as book:
        first = book.submit(early)
    conn = sqlite3.connect(built)
    conn.execute("DROP TRIGGER refusals_no_update")
    conn.execute(
        "UPDATE refusals SET digest = ? WHERE command_id = 'p-old'",
        (hashlib.sha256(canonical_bytes(early)).digest(),),
    )
    conn.commit()
    conn.close()
    with Ledger.open(built, master_key=KEY) as book:
        assert book.submit(early) == attrs.evolve(first, replayed=True)
        other = attrs.evolve(early, amount_minor=2)
        assert book.submit(other).code is RejectCode.IDEMPOTENCY_CONFLICT  # type: ignore[union-attr]


def test_after_an_erasure_another_command_under_a_used_id_is_still_a_conflict(
    book: Ledger, clock: FakeClock
) -> None:
    assert_accepted(
        book, Pay(id="p1", wallet="wallet:U1", merchant="M1", amount_minor=10, reference=MEMO)
    )
    assert_accepted(
        book, Pay(id="p2", wallet="wallet:U2", merchant="M1", amount_minor=10, reference=MEMO)
    )
    _empty_and_close(book, "wallet:U1")
    clock.advance(timedelta(days=366 * 5))
    assert_accepted(book, EraseSubject(id="erase", subject="cust-1"))
    for other in (
        Pay(id="p2", wallet="wallet:U1", merchant="M1", amount_minor=10, reference=MEMO),
        Transfer(id="p1", source="wallet:U1", destination="wallet:U2", amount_minor=10, memo="x"),
    ):
        refused = book.submit(other)
        assert isinstance(refused, Rejected) and refused.code is RejectCode.IDEMPOTENCY_CONFLICT


def test_an_entry_with_a_leg_not_open_is_answered_the_same_once_it_opens(book: Ledger) -> None:
    entry = PostEntry(
        id="pe",
        kind="adjustment",
        postings=[Debit("wallet:NEW", 5), Credit("wallet:U2", 5)],
        memo=MEMO,
    )
    first = book.submit(entry)
    assert isinstance(first, Rejected) and first.code is RejectCode.ACCOUNT_NOT_FOUND
    assert_accepted(book, _wallet("wallet:NEW", "cust-1b", name="New"))
    assert book.submit(entry) == attrs.evolve(first, replayed=True)


def test_a_refusal_never_keeps_a_phone_number_and_an_old_accounts_is_still_final(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "old-ids.db"
    old_id = f"wallet:{PHONE}"
    allowing = PersonalDataPolicy(allowed_ids=frozenset({PHONE}))
    with Ledger.open(path, clock=clock, master_key=KEY, personal=allowing) as book:
        _build(book)
        assert_accepted(book, attrs.evolve(_wallet(old_id, None), id="open-old"))
    with Ledger.open(path, clock=clock, master_key=KEY) as book:
        spend = Withdraw(id="w-old", wallet=old_id, amount_minor=5)
        first = book.submit(spend)
        assert isinstance(first, Rejected) and first.code is RejectCode.INSUFFICIENT_FUNDS
        assert_accepted(book, TopUp(id="t-old", wallet=old_id, amount_minor=50, channel="bank"))
        assert book.submit(spend) == attrs.evolve(first, replayed=True)  # recorded: final
        for command in (
            Transfer(
                id="t-a", source="wallet:U1", destination="wallet/081-234-5678", amount_minor=1
            ),
            Pay(id="p-a", wallet="wallet:U1", merchant="shop 0812345678", amount_minor=1),
            EraseSubject(id="e-a", subject="+66812345678"),
        ):
            refused = book.submit(command)
            assert isinstance(refused, Rejected), refused
            assert "812345678" not in refused.detail + refused.subject, refused
            assert book.result(command.id) is None  # its digest would confirm the number
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("old-ids"))
    assert b"+66812345678" not in raw and b"081-234-5678" not in raw
