"""``satang verify``'s exit status tells an integrity finding (the file or its log is damaged
or was tampered with: 1) from a business finding only (the books are whole, the money is
short: 3); a clean ledger exits 0. Proven on ``Report.exit_code`` and through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ledger import Accepted, Credit, Debit, Ledger, OpenAccount, PostEntry, TopUp
from ledger.audit import (
    BUSINESS_CHECKS,
    CHECKS,
    EXIT_BUSINESS,
    EXIT_INTEGRITY,
    EXIT_OK,
    Finding,
    Report,
    verify,
)
from ledger.cli import main
from tests.tampering import tamper

SHORT_MINOR = 12_345
"""What the owner's equity credits to the wallet with no cash behind it."""


def _ledger(path: Path, *, short: bool) -> Path:
    """Seq 1-2 the chart (bank:trust, income:fees), 3 wallet:U1, 4 equity:owner, 5 a bank
    top-up of 50_000 (trust 50_000 against the wallet's 50_000); with ``short`` also 6, an
    adjustment crediting the wallet 12_345 from equity: the wallet owes 62_345 and the trust
    holds 50_000, short by 12_345."""
    with Ledger.open(path) as book:
        book.open_chart()
        commands: list[object] = [
            book.chart.open_wallet("wallet:U1"),
            OpenAccount(id="o-eq", account="equity:owner", type="equity", currency="THB"),
            TopUp(id="t1", wallet="wallet:U1", amount_minor=50_000, channel="bank"),
        ]
        if short:
            commands.append(
                PostEntry(
                    id="bad",
                    kind="adjustment",
                    postings=[Debit("equity:owner", SHORT_MINOR), Credit("wallet:U1", SHORT_MINOR)],
                )
            )
        results = book.submit_many(commands)  # type: ignore[arg-type]
        assert all(isinstance(r, Accepted) for r in results), results
    return path


TAMPER = "UPDATE events SET recorded_at = recorded_at + 1 WHERE seq = 3"
"""A recorded time moved by one microsecond past the store's triggers: the chain breaks
at seq 3, the books fold as before."""


@pytest.fixture(params=["clean", "short", "tampered", "both"])
def case(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path]:
    name: str = request.param
    path = _ledger(tmp_path / f"{name}.db", short=name in ("short", "both"))
    if name in ("tampered", "both"):
        tamper(path, TAMPER)
    return name, path


EXPECTED = {"clean": 0, "short": 3, "tampered": 1, "both": 1}


def _verify(path: Path) -> Report:
    with Ledger.open(path, create=False) as book:
        return verify(book)


# --- the classification ------------------------------------------------------------------


def test_the_business_checks_are_checks_and_safeguarded_is_one() -> None:
    assert set(BUSINESS_CHECKS) <= set(CHECKS)
    assert BUSINESS_CHECKS == ("safeguarded",)
    assert (EXIT_OK, EXIT_INTEGRITY, EXIT_BUSINESS) == (0, 1, 3)


@pytest.mark.parametrize(
    "checks,integrity,business,code",
    [
        ((), 0, 0, 0),
        (("safeguarded",), 0, 1, 3),
        (("safeguarded", "safeguarded"), 0, 2, 3),
        (("hash_chain",), 1, 0, 1),
        (("no_overdraft", "safeguarded"), 1, 1, 1),
        (("safeguarded", "projections"), 1, 1, 1),
        (("a check this code does not know",), 1, 0, 1),  # never taken for a business one
    ],
)
def test_exit_code_of_a_report(
    checks: tuple[str, ...], integrity: int, business: int, code: int
) -> None:
    findings = tuple(Finding(check, i, f"finding {i}") for i, check in enumerate(checks))
    report = Report(events_checked=5, head_seq=5, head_hash="00" * 32, findings=findings)
    assert len(report.integrity_findings) == integrity
    assert len(report.business_findings) == business
    assert report.exit_code == code
    assert report.ok is (code == 0)
    # the two kinds split the findings between them, each kept in the order found
    for kind in (report.integrity_findings, report.business_findings):
        assert list(kind) == sorted(kind, key=findings.index)
    assert sorted(report.integrity_findings + report.business_findings, key=findings.index) == [
        *findings
    ]
    assert all(f.business for f in report.business_findings)
    assert not any(f.business for f in report.integrity_findings)


# --- the library's verify() on real ledgers ----------------------------------------------


def test_report_exit_code_on_each_ledger(case: tuple[str, Path]) -> None:
    name, path = case
    report = _verify(path)
    assert report.exit_code == EXPECTED[name], report.findings
    business = {f.check for f in report.business_findings}
    integrity = {f.check for f in report.integrity_findings}
    if name in ("short", "both"):
        # wallet 50_000 + 12_345 = 62_345 against the trust's 50_000
        [shortfall] = report.business_findings
        assert shortfall.check == "safeguarded"
        assert f"short by {SHORT_MINOR}" in shortfall.detail
    else:
        assert business == set()
    if name in ("tampered", "both"):
        assert "hash_chain" in integrity
        assert min(f.seq for f in report.integrity_findings if f.seq) == 3
    else:
        assert integrity == set()


# --- satang verify through the command line ------------------------------------------------


def test_satang_verify_exit_status(case: tuple[str, Path]) -> None:
    """0 clean, 3 a shortfall only, 1 tampered, 1 tampered and short."""
    name, path = case
    result = CliRunner().invoke(main, ["verify", "--db", str(path)])
    assert result.exit_code == EXPECTED[name], result.output
    assert ("FINDING safeguarded" in result.output) is (name in ("short", "both"))
    assert ("FINDING hash_chain at seq 3" in result.output) is (name in ("tampered", "both"))
