"""Unit tests: examples through the public API, one behaviour each."""
