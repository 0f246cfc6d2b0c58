"""The journal flow: entries of explicit legs, their reversal, the close of a period."""
