"""``satang result ID``: what a command got, looked up by its id, in text and JSON; exit 1
for an id that has no result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ledger import Accepted, Ledger, Rejected
from ledger.cli import main
from ledger.commands import TopUp, Transfer
from ledger.errors import RejectCategory, RejectCode


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two wallets, a top-up, a transfer, a transfer refused for funds (recorded), and a
    linked batch failed by its second transfer (the first was never decided on its own)."""
    path = tmp_path_factory.mktemp("result") / "wallet.db"
    with Ledger.open(path) as book:
        chart = book.chart
        book.open_chart()
        book.submit_many([chart.open_wallet("wallet:U1"), chart.open_wallet("wallet:U2")])
        answers = book.submit_many(
            [
                TopUp(id="top-1", wallet="wallet:U1", amount_minor=150_000, channel="bank"),
                Transfer(
                    id="p2p-1", source="wallet:U1", destination="wallet:U2", amount_minor=20_000
                ),
                Transfer(
                    id="p2p-broke",
                    source="wallet:U2",
                    destination="wallet:U1",
                    amount_minor=999_999,
                ),
            ]
        )
        linked = book.submit_many(
            [
                Transfer(
                    id="linked-ok", source="wallet:U1", destination="wallet:U2", amount_minor=1
                ),
                Transfer(
                    id="linked-broke",
                    source="wallet:U2",
                    destination="wallet:U1",
                    amount_minor=999_999,
                ),
            ],
            linked=True,
        )
    assert [type(a) for a in answers] == [Accepted, Accepted, Rejected]
    refused = answers[2]
    assert isinstance(refused, Rejected) and refused.code is RejectCode.INSUFFICIENT_FUNDS
    assert refused.code.category is RejectCategory.STATE
    assert [r.code for r in linked if isinstance(r, Rejected)] == [
        RejectCode.LINKED_COMMAND_FAILED,
        RejectCode.INSUFFICIENT_FUNDS,
    ]
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_an_accepted_command_shows_its_seq_and_the_balances_it_left(db: Path) -> None:
    with Ledger.open(db, create=False, readonly=True) as book:
        expected = book.result("p2p-1")
    assert isinstance(expected, Accepted)
    code, out, err = run("result", "p2p-1", "--db", str(db))
    assert code == 0 and err == ""
    first, *balances = out.splitlines()
    assert first == f"p2p-1: accepted at seq {expected.seq} (replayed: True)"
    assert sorted(line.split()[0] for line in balances) == ["wallet:U1", "wallet:U2"]
    assert "wallet:U1  1,300.00 THB  (available 1,300.00)" in out
    assert "wallet:U2  200.00 THB  (available 200.00)" in out


def test_an_accepted_command_as_json(db: Path) -> None:
    code, out, _ = run("result", "top-1", "--db", str(db), "--json")
    answer = json.loads(out)
    assert code == 0
    assert answer["result"] == "accepted" and answer["id"] == "top-1"
    assert answer["replayed"] is True and isinstance(answer["seq"], int)
    by_account = {b["account"]: b for b in answer["balances"]}
    # the balances as of the top-up, before the transfer moved 200.00 of it
    assert by_account["wallet:U1"]["balance"] == 150_000
    assert by_account["bank:trust"]["balance"] == 150_000


def test_a_refusal_on_the_books_shows_code_category_subject_and_detail(db: Path) -> None:
    code, out, err = run("result", "p2p-broke", "--db", str(db))
    assert code == 0 and err == ""
    first, detail = out.splitlines()
    assert first.startswith("p2p-broke: rejected insufficient_funds (state)")
    assert "(replayed: True)" in first
    with Ledger.open(db, create=False, readonly=True) as book:
        recorded = book.result("p2p-broke")
    assert isinstance(recorded, Rejected)
    assert detail.strip() == recorded.detail
    if recorded.subject:
        assert f" on {recorded.subject} " in first
    code, out, _ = run("result", "p2p-broke", "--db", str(db), "--json")
    answer = json.loads(out)
    assert code == 0
    assert answer == {
        "id": "p2p-broke",
        "result": "rejected",
        "code": "insufficient_funds",
        "category": "state",
        "subject": recorded.subject,
        "detail": recorded.detail,
        "replayed": True,
    }


@pytest.mark.parametrize("command_id", ["linked-ok", "never-sent", "bad id!", "x" * 100_000])
def test_an_id_without_a_result_exits_1_with_one_line(db: Path, command_id: str) -> None:
    """Failed with its linked batch (never decided on its own), never sent, not an id."""
    for extra in ((), ("--json",)):
        code, out, err = run("result", command_id, "--db", str(db), *extra)
        assert code == 1 and out == ""
        (line,) = err.splitlines()
        assert line.startswith("Error: no result for command id ") and len(line) < 300


def test_result_leaves_the_file_unchanged(db: Path) -> None:
    before = db.read_bytes()
    assert run("result", "p2p-1", "--db", str(db))[0] == 0
    assert run("result", "never-sent", "--db", str(db))[0] == 1
    assert db.read_bytes() == before
