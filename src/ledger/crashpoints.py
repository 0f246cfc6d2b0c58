"""Named points on the write path where the fault suite makes a process die.

The store and the projection runner call :func:`reach` at each point; with no hook
installed (always, outside tests/faults) that is one global read. The crash-point test
(tests/faults/test_kill9.py) installs a hook in a writer subprocess that calls
``os._exit`` the n-th time a point is reached, so a hard exit lands exactly there, many
times over, instead of wherever a random SIGKILL happens to fall.

* ``before_insert``: the batch is decided, nothing is written yet.
* ``before_commit``: every row of the batch is written inside the open transaction.
* ``after_commit``: the batch is committed; ``submit`` has not returned, so the caller
  has not acknowledged it.
* ``mid_projection``: a page of events is folded into some read models, not all, and
  their transaction is open.
* ``mid_checkpoint``: ``SqliteStore.checkpoint`` is about to copy the WAL into the
  database file (the hook may exit at once, or a moment later, while SQLite copies).
"""

from __future__ import annotations

from collections.abc import Callable

POINTS = ("before_insert", "before_commit", "after_commit", "mid_projection", "mid_checkpoint")

_hook: Callable[[str], None] | None = None


def install(hook: Callable[[str], None] | None) -> None:
    """Call ``hook(point)`` at every point from now on (``None`` removes it)."""
    global _hook
    _hook = hook


def reach(point: str) -> None:
    """The write path is at ``point``: call the hook, if one is installed."""
    if _hook is not None:
        _hook(point)
