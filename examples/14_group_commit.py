"""Many threads, one ledger: group commit.

Sixteen customers' threads share one ``Ledger``, as a threaded web backend does; each tops
up its wallet, sends twenty transfers to a market's wallet, then tries one it cannot
afford. Threads calling ``submit`` at once share one transaction and one commit, and each
still gets its own answer, once its command is on disk, as if it had called alone.

Run from the repository root: ``python examples/14_group_commit.py`` (a temporary file).
"""

import tempfile
import threading
from pathlib import Path

from ledger import Accepted, Ledger, RejectCode, Rejected, TopUp, Transfer, format_amount
from ledger.audit import verify

CUSTOMERS, TRANSFERS = 16, 20

with tempfile.TemporaryDirectory() as directory, Ledger.open(Path(directory) / "market.db") as book:
    chart = book.chart
    book.open_chart()
    book.submit_many(
        [chart.open_wallet("wallet:market")]
        + [chart.open_wallet(f"wallet:c{n}") for n in range(CUSTOMERS)]
    )
    answers: dict[str, Accepted | Rejected] = {}
    go = threading.Barrier(CUSTOMERS)

    def customer(n: int) -> None:
        wallet = f"wallet:c{n}"
        go.wait()
        commands = [TopUp(id=f"top-{n}", wallet=wallet, amount_minor=100_000, channel="bank")]
        commands += [
            Transfer(
                id=f"x-{n}-{k}", source=wallet, destination="wallet:market", amount_minor=1_000
            )
            for k in range(TRANSFERS)
        ]
        commands.append(
            Transfer(
                id=f"x-{n}-big", source=wallet, destination="wallet:market", amount_minor=90_000
            )
        )
        for command in commands:  # one at a time, each answer awaited, as a request is
            answers[command.id] = book.submit(command)

    threads = [threading.Thread(target=customer, args=(n,)) for n in range(CUSTOMERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    accepted = [a for a in answers.values() if isinstance(a, Accepted)]
    refused = [a for a in answers.values() if isinstance(a, Rejected)]
    print(f"{len(threads)} threads, {len(answers)} submits, each answered on its own")
    print(f"accepted {len(accepted)}, refused {len(refused)}")
    assert {r.code for r in refused} == {RejectCode.INSUFFICIENT_FUNDS}
    assert all(r.id.endswith("-big") for r in refused)  # each customer's own refusal

    # every answer is the one the ledger keeps for that id: a retry gets it back
    for cid, answer in answers.items():
        kept = book.result(cid)
        assert kept is not None and kept.id == cid and type(kept) is type(answer)
        if isinstance(answer, Accepted):
            assert isinstance(kept, Accepted) and kept.seq == answer.seq
            assert kept.balances == answer.balances
    print("every answer is what book.result gives back: yes")

    # each customer's transfers are in the log in the order that customer sent them: the
    # seq of its k-th transfer grows with k
    seq_of = {e.command_id: e.seq for e in book.events()}
    for n in range(CUSTOMERS):
        sent = [seq_of[f"x-{n}-{k}"] for k in range(TRANSFERS)]
        assert sent == sorted(sent) and seq_of[f"top-{n}"] < sent[0]
    print("each customer's transfers are in the log in the order sent: yes")

    market = book.balance("wallet:market")
    print(f"wallet:market holds {format_amount(market.balance, 'THB')} THB")
    assert market.balance == CUSTOMERS * TRANSFERS * 1_000
    for n in range(CUSTOMERS):
        assert book.balance(f"wallet:c{n}").balance == 100_000 - TRANSFERS * 1_000
    report = verify(book)
    print(f"verify: {'ok' if report.ok else report.findings}")
    assert report.ok
