"""Personal data a customer can have erased, in a log that never changes (Thailand's PDPA).

Somchai opens a wallet under his customer number, pays a phone bill and sends his sister
money with a memo. Everything he wrote is stored sealed under his own key: a copy of the
file shows none of it. He asks for his data (section 30), closes his wallet, and five
years later, when anti-money-laundering law no longer needs his records, asks to be
erased (section 33). The key is destroyed: his text is gone, the books and the hash chain
are not.

Run from the repository root: ``python examples/15_personal_data.py`` (a temporary file).
"""

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ledger import (
    Accepted,
    CloseAccount,
    EraseSubject,
    Ledger,
    MasterKey,
    PayBill,
    RejectCode,
    Rejected,
    TopUp,
    Transfer,
    Withdraw,
)
from ledger.audit import verify
from ledger.keys import ERASED
from ledger.times import ManualClock

NAME, PHONE, MEMO = "Somchai Jaidee", "0812345678", "for Malee's tuition"

with tempfile.TemporaryDirectory() as directory:
    folder = Path(directory)
    key_file = folder / "master.key"  # in production: a secret store, never beside the file
    key_file.write_text(MasterKey.generate().hex() + "\n")
    master_key = MasterKey.from_file(key_file)
    clock = ManualClock(datetime(2026, 12, 6, 9, tzinfo=UTC))
    with Ledger.open(folder / "wallet.db", clock=clock, master_key=master_key) as book:
        chart = book.chart
        book.open_chart()
        book.submit_many([chart.open_biller("AIS"), chart.open_wallet("wallet:malee")])
        # an account id stays in the log in the clear: a phone number is refused as one
        refused = book.submit(chart.open_wallet(f"wallet:{PHONE}", subject="C1001"))
        assert isinstance(refused, Rejected) and refused.code is RejectCode.ID_PERSONAL
        wallet = f"wallet:{book.opaque_id('C1001', PHONE)}"
        for command in (
            chart.open_wallet(wallet, subject="C1001", metadata={"name": NAME, "phone": PHONE}),
            TopUp(id="top-up", wallet=wallet, amount_minor=200_000, channel="bank"),
            PayBill(
                id="bill", wallet=wallet, biller="AIS", bill_reference=PHONE, amount_minor=59_900
            ),
            Transfer(
                id="p2p", source=wallet, destination="wallet:malee", amount_minor=50_000, memo=MEMO
            ),
        ):
            assert isinstance(book.submit(command), Accepted), command

        files = b"".join(p.read_bytes() for p in folder.iterdir() if p.name.startswith("wallet.db"))
        assert not any(text.encode() in files for text in (NAME, PHONE, MEMO))
        name = book.account(wallet).metadata["name"]
        print(f"{wallet}: its name stored {name[:12]!r}..., read back as {book.reveal(name)!r}")

        mine = book.subject_data("C1001")
        print(
            f"his data: {len(mine['accounts'])} account, {len(mine['events'])} events, "
            f"memo {mine['events'][-1]['event']['memo']!r}"
        )

        left = book.balance(wallet).available
        book.submit_many(
            [
                Withdraw(id="cash-out", wallet=wallet, amount_minor=left),
                CloseAccount(id="close", account=wallet),
            ]
        )
        early = book.submit(EraseSubject(id="erase-early", subject="C1001", reason="REQ-77"))
        assert isinstance(early, Rejected) and early.code is RejectCode.RETENTION_RUNNING
        print(f"erasure at once: {early.code} ({early.detail})")

        balances = book.balances()
        clock.now += timedelta(days=366 * 5)
        assert isinstance(
            book.submit(EraseSubject(id="erase", subject="C1001", reason="REQ-77")), Accepted
        )
        transfer = next(r.event for r in book.events() if r.command_id == "p2p")
        assert book.reveal(transfer.memo) == ERASED  # type: ignore[union-attr]
        assert book.balances() == balances
        assert verify(book).ok
        print(
            f"after the erasure: memo {book.reveal(transfer.memo)}, "  # type: ignore[union-attr]
            f"balances unchanged, verify clean"
        )
    files = b"".join(p.read_bytes() for p in folder.iterdir() if p.name.startswith("wallet.db"))
    assert not any(text.encode() in files for text in (NAME, PHONE, MEMO))
