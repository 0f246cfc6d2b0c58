"""The accounts flow: open, freeze, unfreeze, close."""
