"""The wallet flows: top-ups, payments, transfers, exchange, holds, tiers and the chart."""
