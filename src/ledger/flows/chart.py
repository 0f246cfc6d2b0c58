"""Moved: the chart of system accounts is :mod:`ledger.chart` (beneath the flows, which
all read it); ``Chart`` is still importable from here, and from ``ledger``."""

from ledger.chart import Chart as Chart
from ledger.chart import party_of as party_of
