"""Tampering with a ledger file the way a careful tamperer would, for the audit and
corruption tests: raw SQL run past the store's triggers, which are then put back exactly
as they were (so a missing trigger does not give the change away by itself)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec


def tamper(path: Path, *statements: str) -> None:
    """Run ``statements`` on the SQLite file at ``path`` with every trigger dropped, then
    recreate the triggers from their own SQL."""
    conn = sqlite3.connect(path)
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER [{name}]")
    for sql in statements:
        conn.execute(sql)
    for _, sql in triggers:
        conn.execute(sql)
    conn.commit()
    conn.close()


def changed_payload(old: int | str, new: int | str) -> str:
    """SQL for ``payload`` with the value ``old`` put as ``new`` wherever the compact
    encoding (MessagePack) holds it: a replace of its bytes, so give values that encode to
    as many bytes (10000 and 10001, not 10000 and 100000) for a payload that still
    decodes."""
    before, after = msgspec.msgpack.encode(old), msgspec.msgpack.encode(new)
    return f"CAST(replace(payload, X'{before.hex()}', X'{after.hex()}') AS BLOB)"
