"""The cash-on-delivery flow: collection, remittance, payout, returns."""
