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

What a caller can count on (docs/concurrency.md):

* its result only after the group's commit is durable; if the commit (or anything else
  the whole group shares: the lock, ``BEGIN``) fails, every caller of the group gets that
  error and nothing of the group is in the log;
* its command decided alone: a refusal is its own, and a command whose deciding raises
  (a field that is not plain data, say) is taken out and the rest of the group decided
  again in a new transaction, so no other caller sees its error;
* order: seq order is the order the group was decided in, which is arrival order;
* a wait bounded by the groups ahead of it: at most :data:`GROUP_MAX` commands each, the
  queue is first in, first out.

Locks: the queue's lock is a leaf, held only to add to or take from the queue, never
while another lock is taken or a command is decided (docs/durability.md, the lock
hierarchy).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from ledger.commands import Command
from ledger.results import Result

GROUP_MAX = 1_000
"""The most commands one group (one transaction, one commit) decides."""
GROUP_WAIT_S = 0.002
"""The longest a leader waits for the callers of the group before to come back before
it takes its own group (none when the group before was one command: a lone caller never
waits)."""


class Waiter:
    """One caller's command in the queue, and what became of it."""

    __slots__ = ("command", "error", "leads", "result", "woken")

    def __init__(self, command: Command) -> None:
        self.command = command
        self.woken = threading.Event()
        self.result: Result | None = None
        self.error: BaseException | None = None
        self.leads = False
        """Promoted to lead the next group (it is then first in the queue)."""

    def outcome(self) -> Result:
        """The command's result, or the error its group or its own deciding raised."""
        if self.error is not None:
            raise self.error
        assert self.result is not None, "a waiter is answered before it is woken"
        return self.result


Decider = Callable[[list[Waiter]], None]
"""Decides a group in one transaction and sets every waiter's ``result`` or ``error``."""


class Groups:
    """The queue of commands waiting for a group, and who leads the next one."""

    def __init__(
        self, decide: Decider, group_max: int = GROUP_MAX, wait_s: float = GROUP_WAIT_S
    ) -> None:
        self._decide = decide
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

    def submit(self, command: Command) -> Result:
        """Queue ``command``, lead a group or wait for one; its own result."""
        waiter = Waiter(command)
        with self._lock:
            self._queue.append(waiter)
            if not self._leading:
                self._leading = waiter.leads = True
            elif len(self._queue) >= self._expected:
                self._arrived.notify()
        if not waiter.leads:
            waiter.woken.wait()
        if waiter.leads:  # first in the queue: it leads the next group, its own among them
            self._lead()
        return waiter.outcome()

    def _lead(self) -> None:
        with self._lock:
            wanted = min(self._expected, self._group_max)
            if len(self._queue) < wanted:
                deadline = time.monotonic() + self._wait_s
                while len(self._queue) < wanted:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._arrived.wait(left)
            group = [self._queue.popleft() for _ in range(min(self._group_max, len(self._queue)))]
            self._expected = len(group)
        try:
            self._decide(group)
        except BaseException as exc:  # the decider answers every waiter; this is a backstop
            for waiter in group:
                if waiter.result is None and waiter.error is None:
                    waiter.error = exc
            raise
        finally:
            with self._lock:
                promoted = self._queue[0] if self._queue else None
                if promoted is None:
                    self._leading = False
                else:
                    promoted.leads = True
            for waiter in group:
                if not waiter.leads:
                    waiter.woken.set()
            if promoted is not None:
                promoted.woken.set()
