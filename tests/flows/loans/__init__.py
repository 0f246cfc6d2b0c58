"""The micro-loan flow and its schedule arithmetic."""
