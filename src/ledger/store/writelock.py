"""The write lock of one SQLite file, fair between processes, kept in a ``-lock`` file beside it.

SQLite's own write lock (``BEGIN IMMEDIATE``) is not fair: a writer that finds it taken
sleeps in growing steps (up to 100 ms) and tries again, while the process that just
committed takes it back within microseconds. Under steady load one process starves. So
every write transaction on a Satang file — a ``submit``, a fold of the read models, a
checkpoint — first takes this lock, then ``BEGIN IMMEDIATE`` (which then never waits on
another Satang writer):

* **Threads** of one process queue on one ``threading.Lock`` per file (POSIX record locks
  belong to a process, so they cannot tell its threads apart).
* **Processes** take an exclusive ``fcntl`` lock on byte 0 of ``<file>-lock``. A process
  that finds it taken says so by holding a shared lock on byte 1 while it waits, polling
  every :data:`POLL_S`. A process about to take the lock that sees someone waiting gives
  way first — for at most :data:`GIVE_WAY_S`, until the waiter has it — so the lock passes
  round the processes instead of staying with the one that just let it go.
* A process that dies loses its locks with it (the kernel drops them): nothing to clean.
* ``timeout_s`` bounds the whole wait (the ledger's ``busy_timeout_ms``): past it,
  :class:`~ledger.errors.StoreBusy`.

The lock file is opened once per process and file and never closed while the process
uses it: closing any descriptor of a file drops every POSIX lock the process holds on it.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from types import TracebackType

from ledger.errors import StoreBusy, StoreError

POLL_S = 0.000_1
"""How often a waiting process tries the lock again, at first."""
POLL_MAX_S = 0.001
"""The longest pause between two tries, after :data:`POLL_SLOW_AFTER_S` of waiting."""
POLL_SLOW_AFTER_S = 0.02
GIVE_WAY_S = 0.003
"""How long a process gives way to another that waits, at most, before taking its turn."""
LOCK_FILE_MODE = 0o600

_WRITE = 0
_WAITING = 1


class _Shared:
    """What every ``WriteLock`` of one file in this process shares."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.threads = threading.Lock()
        self.users = 0


_files: dict[str, _Shared] = {}
_files_lock = threading.Lock()


def lock_path(database: str) -> str:
    """The lock file of a database file."""
    return f"{database}-lock"


class WriteLock:
    """The write lock of the SQLite file ``database`` (see the module docstring).

    ``with lock.hold(timeout_s):`` … holds it for the block. Not reentrant: a thread that
    holds it and asks again waits for itself until the timeout.
    """

    def __init__(self, database: str) -> None:
        path = lock_path(os.path.realpath(database))  # one lock whatever link names the file
        with _files_lock:
            shared = _files.get(path)
            if shared is None:
                try:
                    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, LOCK_FILE_MODE)
                    os.fchmod(fd, LOCK_FILE_MODE)  # whatever the umask took off
                except OSError as exc:
                    raise StoreError(
                        f"{path}: cannot open the ledger's lock file ({exc.strerror}); a ledger "
                        "in a read-only folder opens with readonly=True"
                    ) from exc
                shared = _files[path] = _Shared(fd)
            shared.users += 1
        self._path = path
        self._shared: _Shared | None = shared

    def close(self) -> None:
        """Stop using the lock file (it stays open for the process: see the module)."""
        with _files_lock:
            if self._shared is not None:
                self._shared.users -= 1
                self._shared = None

    def hold(self, timeout_s: float) -> _Held:
        """The lock for a ``with`` block, waiting at most ``timeout_s`` seconds."""
        return _Held(self, timeout_s)

    def acquire(self, timeout_s: float) -> None:
        """Take the lock, or raise :class:`StoreBusy` after ``timeout_s`` seconds."""
        shared = self._shared
        if shared is None:
            raise StoreError(f"{self._path}: the write lock was closed")
        timeout_s = min(max(timeout_s, 0.0), threading.TIMEOUT_MAX)
        deadline = time.monotonic() + timeout_s
        if not shared.threads.acquire(timeout=timeout_s):
            raise StoreBusy(f"{self._path}: another thread held the ledger's write lock")
        try:
            self._acquire_file(shared.fd, deadline)
        except BaseException:
            shared.threads.release()
            raise

    def release(self) -> None:
        """Let the lock go (to the next thread of this process, or process)."""
        shared = self._shared
        assert shared is not None, "release() of a closed write lock"
        fcntl.lockf(shared.fd, fcntl.LOCK_UN, 1, _WRITE)
        shared.threads.release()

    def _acquire_file(self, fd: int, deadline: float) -> None:
        give_way_until = min(deadline, time.monotonic() + GIVE_WAY_S)
        while _others_wait(fd) and time.monotonic() < give_way_until:
            if not _try(fd, _WRITE):
                break  # a waiter has it now: queue behind it
            fcntl.lockf(fd, fcntl.LOCK_UN, 1, _WRITE)
            time.sleep(POLL_S)
        if _try(fd, _WRITE):
            return
        fcntl.lockf(fd, fcntl.LOCK_SH, 1, _WAITING)  # "someone waits"; never held long
        try:
            started = time.monotonic()
            while not _try(fd, _WRITE):
                now = time.monotonic()
                if now >= deadline:
                    raise StoreBusy(
                        f"{self._path}: another process held the ledger's write lock past "
                        "the busy timeout; retry, or raise busy_timeout_ms"
                    )
                pause = POLL_S if now - started < POLL_SLOW_AFTER_S else POLL_MAX_S
                time.sleep(min(pause, max(deadline - now, 0.0)))
        finally:
            fcntl.lockf(fd, fcntl.LOCK_UN, 1, _WAITING)


def _try(fd: int, byte: int) -> bool:
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, byte)
    except (BlockingIOError, PermissionError):
        return False
    return True


def _others_wait(fd: int) -> bool:
    """Whether another process holds its "waiting" mark (a shared lock on byte 1)."""
    if _try(fd, _WAITING):
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, _WAITING)
        return False
    return True


class _Held:
    def __init__(self, lock: WriteLock, timeout_s: float) -> None:
        self._lock = lock
        self._timeout_s = timeout_s

    def __enter__(self) -> None:
        self._lock.acquire(self._timeout_s)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._lock.release()
