"""One folder per flow of src/ledger/flows: its unit tests, its properties or stateful
machine, and its multi-process races, side by side (``wallet`` holds the wallet flows:
top-ups, payments, transfers, exchange, holds, tiers and the chart)."""
