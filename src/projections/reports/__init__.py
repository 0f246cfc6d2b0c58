"""The regulatory and operational reports, each computed from the read models.

Every report is a function of a :class:`~projections.runner.Runner` and a day (as of its
end in the ledger's time zone) or a period of days, returning a
:class:`~projections.reports.base.Report`. :data:`REPORTS` is what ``satang report``
offers; docs/reports/ has a page for each.
"""

from projections.reports.base import Report, ReportSpec, Section

REPORTS: dict[str, ReportSpec] = {
    spec.name: spec
    for spec in (
        ReportSpec(
            "safeguarding",
            "day",
            "projections.reports.safeguarding:safeguarding",
            "e-money outstanding by wallet type; trust cash and agent cash against it",
        ),
        ReportSpec(
            "activity",
            "range",
            "projections.reports.activity:activity",
            "transactions by type and top-up channel; wallets total, active, by tier",
        ),
        ReportSpec(
            "loan-portfolio",
            "day",
            "projections.reports.loan_portfolio:loan_portfolio",
            "outstanding principal and interest, ageing, stages, NPL ratio, allowance",
        ),
        ReportSpec(
            "aml",
            "range",
            "projections.reports.aml:aml",
            "transactions at or above each threshold; structuring candidates",
        ),
        ReportSpec(
            "cod",
            "day",
            "projections.reports.cod:cod_outstanding",
            "per courier cash delivered and not remitted, with age; per merchant payables",
        ),
    )
}

__all__ = ["REPORTS", "Report", "ReportSpec", "Section"]
