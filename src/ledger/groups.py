"""Group commit: threads that call ``Ledger.submit`` at once share one durable commit.

A wallet service calls ``submit`` from many threads, one command each. Alone, each call
would pay its own transaction and fsync while the others queue behind the ``Ledger``'s
write lock. Here they queue on :class:`Groups` instead: the first caller to find no group
being decided becomes the *leader*; it takes every command waiting (at most
:data:`GROUP_MAX`, in arrival order), has the ``Ledger`` decide them in one transaction,
one after another against the state the earlier ones left, commits once, and hands each
caller its own result. Callers that arrived while that group was being decided and
committed wait for the next group: the leader, once its group is answered, promotes the
first of them to lead it, and returns.

What a caller can count on (docs/durability.md, group commit):

* its result only after the group's commit is durable; if the commit (or anything else
  the whole group shares: the lock, ``BEGIN``) fails, every caller of the group gets that
  error (each its own copy) and nothing of the group is in the log;
* its command decided alone: a refusal is its own, and a command whose deciding raises
  is taken out and the rest of the group decided again in a new transaction, so no other
  caller sees its error;
* order: seq order is the order the group was decided in, which is arrival order;
* a wait bounded by the groups ahead of it: at most :data:`GROUP_MAX` commands each, the
  queue is first in, first out;
* an interrupted caller (``KeyboardInterrupt`` while it waits) never holds up the
  callers behind it: if its command is still queued, it leaves the queue and is never
  decided; if a group has taken it, it is decided and may be committed
  (``Ledger.result(id)`` tells). If the leader itself is interrupted while it decides or
  commits, it raises that, and the other callers of its group get
  :class:`~ledger.errors.LedgerError` saying their outcome is unknown:
  ``Ledger.result(id)``, or a retry with the same id, tells.

Locks: the queue's lock is a leaf, held only to add to or take from the queue, never
while another lock is taken or a command is decided (docs/durability.md, the lock
hierarchy).
"""

from __future__ import annotations

import copy
import threading
import time
from collections import deque
from collections.abc import Callable

from ledger.commands import Command
from ledger.errors import LedgerError
from ledger.results import Result

GROUP_MAX = 1_000
"""The most commands one group (one transaction, one commit) decides."""
GROUP_WAIT_S = 0.002
"""The longest a leader waits for the callers of the group before to come back before
it takes its own group (none when the group before was one command: a lone caller never
waits)."""


class Waiter:
    """One caller's command in the queue, and what became of it."""

    __slots__ = ("command", "digest", "error", "leads", "result", "shared", "woken")

    def __init__(self, command: Command, digest: bytes | None = None) -> None:
        self.command = command
        self.digest = digest
        """The command's idempotency digest, computed by its caller before it queued
        (None for a command whose id is invalid: it is refused for that)."""
        self.woken: threading.Event | None = None
        """What it waits on, when it waits (a caller that leads at once never does)."""
        self.result: Result | None = None
        self.error: BaseException | None = None
        self.shared = False
        """Whether ``error`` is the whole group's (each caller raises a copy of it)."""
        self.leads = False
        """Promoted to lead the next group (it is then first in the queue)."""

    def wake(self) -> None:
        """Wake the caller if it waits (one queued behind a leader always does)."""
        if self.woken is not None:
            self.woken.set()

    def fail(self, error: BaseException, *, shared: bool) -> None:
        self.error, self.shared = error, shared

    def outcome(self) -> Result:
        """The command's result, or the error its group or its own deciding raised."""
        if self.error is not None:
            if self.shared:  # one error for many threads: each raises its own copy
                raise _copied(self.error) from self.error
            raise self.error
        assert self.result is not None, "a waiter is answered before it is woken"
        return self.result


def _copied(error: BaseException) -> BaseException:
    """A copy of ``error`` with no traceback of its own, so that threads raising the error
    of one group never share (and lengthen) one traceback. Of the same type always: a
    caller's ``except StoreError`` still catches it."""
    try:
        own = copy.copy(error)
    except Exception:  # an exception whose constructor the copy cannot call again
        own = type(error).__new__(type(error))
        own.args = error.args
    own.__traceback__ = None
    return own


Decider = Callable[[list[Waiter]], None]
"""Decides a group in one transaction and sets every waiter's ``result`` or ``error``."""


class Groups:
    """The queue of commands waiting for a group, and who leads the next one."""

    def __init__(
        self,
        decide: Decider,
        group_max: int = GROUP_MAX,
        wait_s: float = GROUP_WAIT_S,
        event: Callable[[], threading.Event] = threading.Event,
    ) -> None:
        self._decide = decide
        self._event = event
        """Makes what a queued caller waits on (a test gives one that can be interrupted)."""
        self._group_max = group_max
        self._wait_s = wait_s
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._expected = 1
        """How many callers the last group had: the next leader waits (at most
        ``wait_s``) for as many, as they come back with their next commands."""
        self._queue: deque[Waiter] = deque()
        self._leading = False
        """Whether a leader is deciding a group or promoted to. While it is, every waiter
        in the queue is answered or promoted by that leader."""

    def waiting(self) -> int:
        """How many commands are queued for the next group (not the one being decided)."""
        with self._lock:
            return len(self._queue)

    def submit(self, command: Command, digest: bytes | None = None) -> Result:
        """Queue ``command``, lead a group or wait for one; its own result."""
        waiter = Waiter(command, digest)
        try:
            with self._lock:
                self._queue.append(waiter)
                if not self._leading:
                    self._leading = waiter.leads = True
                else:
                    waiter.woken = self._event()
                    if len(self._queue) >= self._expected:
                        self._arrived.notify()
            if waiter.woken is not None:
                waiter.woken.wait()
            if waiter.leads:  # first in the queue: it leads the next group, its own in it
                self._lead(waiter)
        except BaseException:  # interrupted (Ctrl-C) anywhere: leave, or hand the lead on
            self._leave(waiter)
            raise
        return waiter.outcome()

    def _leave(self, waiter: Waiter) -> None:
        """Take an interrupted caller's command out of the queue if it is still there (it
        is then never decided), and if it was to lead, let the next one lead in its
        place. One a group has taken is that group's leader's to answer."""
        with self._lock:
            if waiter in self._queue:
                self._queue.remove(waiter)
                if waiter.leads:
                    self._promote()

    def _promote(self) -> Waiter | None:
        """Under the lock: make the first in the queue the next leader (or none lead)."""
        promoted = self._queue[0] if self._queue else None
        if promoted is None:
            self._leading = False
        else:
            promoted.leads = True
            promoted.wake()
        return promoted

    def _lead(self, own: Waiter) -> None:
        group: list[Waiter] = []
        try:
            with self._lock:
                wanted = min(self._expected, self._group_max)
                if len(self._queue) < wanted:
                    deadline = time.monotonic() + self._wait_s
                    while len(self._queue) < wanted:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            break
                        self._arrived.wait(left)
                take = min(self._group_max, len(self._queue))
                group = [self._queue.popleft() for _ in range(take)]
                self._expected = len(group)
            self._decide(group)
        except BaseException as exc:  # the decider answers every waiter; this is a backstop
            unknown = LedgerError(
                "the group this command was in was interrupted while it was decided or "
                "committed: its outcome is unknown; Ledger.result(id), or a retry with the "
                "same id, tells"
            )
            unknown.__cause__ = exc
            with self._lock:  # interrupted before it took its group: its own leaves the queue
                if own in self._queue:
                    self._queue.remove(own)
            for waiter in group:
                if waiter is not own and waiter.result is None and waiter.error is None:
                    waiter.fail(unknown, shared=True)
            raise
        finally:
            with self._lock:
                self._promote()
            for waiter in group:
                if waiter is not own:
                    waiter.wake()
