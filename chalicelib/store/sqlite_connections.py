"""SQLite connections for the store: a small bounded pool shared by every thread."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

BUSY_TIMEOUT_SECONDS = 10.0
# Readers at once. SQLite releases the GIL for every row it steps to, so many threads
# reading at once mostly queue for the GIL (a 200-line log page is 200 hand-overs): past
# a few connections, more only adds latency. Threads beyond this wait for a connection.
POOL_SIZE = 4


class ConnectionPool:
    """At most `size` SQLite connections, lent to one thread at a time and kept open.

    Why not one connection per thread: the local server runs a thread per HTTP connection,
    so threads come and go, and every new one would pay for opening a connection (and a
    cold page cache); and twenty threads reading at once are slower, not faster, than a
    few (see POOL_SIZE). Why not one shared connection behind a lock: reads would run one
    at a time although WAL lets them run side by side, and a writer waiting for the write
    lock (held by another process, up to the busy timeout) would stall every reader.

    `connection()` lends a connection for one statement or one transaction; a thread that
    already holds one gets the same one again (nested use cannot exhaust the pool).
    `writer()` is the same, but in-process writers take turns first: SQLite has one
    writer at a time anyway, and this way at most one pooled connection waits for the
    write lock of another process, the readers keep the others, and writers of this
    process queue in order instead of polling SQLite's busy handler. The write turn is
    always taken before a connection, never while holding one, so the two cannot deadlock.

    `check_same_thread=False` because a connection moves between threads; it is never used
    by two at once. Like any SQLite connection, a pool must not cross a fork.
    """

    def __init__(self, path: str, size: int = POOL_SIZE) -> None:
        if size < 1:
            raise ValueError("a connection pool needs at least one connection")
        self._path = path
        self._size = size
        self._available = threading.Condition(threading.Lock())
        self._idle: list[sqlite3.Connection] = []  # most recently used last (warm cache)
        self._opened = 0  # idle + lent
        self._closed = False
        self._writing = threading.Lock()
        self._held = threading.local()

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        held: sqlite3.Connection | None = getattr(self._held, "conn", None)
        if held is not None:
            yield held
            return
        conn = self._acquire()
        self._held.conn = conn
        try:
            yield conn
        finally:
            self._held.conn = None
            self._release(conn)

    @contextmanager
    def writer(self) -> Iterator[sqlite3.Connection]:
        if getattr(self._held, "conn", None) is not None:
            with self.connection() as conn:  # already inside; SQLite's own lock still rules
                yield conn
            return
        with self._writing, self.connection() as conn:
            yield conn

    @property
    def opened(self) -> int:
        """How many connections are open (idle or lent)."""
        with self._available:
            return self._opened

    def close_all(self) -> None:
        """Close the idle connections now and the lent ones when they come back; from now
        on the pool lends nothing."""
        with self._available:
            self._closed = True
            for conn in self._idle:
                conn.close()
            self._opened -= len(self._idle)
            self._idle.clear()
            self._available.notify_all()

    def _acquire(self) -> sqlite3.Connection:
        with self._available:
            while True:
                if self._closed:
                    raise RuntimeError("the store is closed")
                if self._idle:
                    return self._idle.pop()
                if self._opened < self._size:
                    self._opened += 1
                    break
                self._available.wait()
        try:
            return self._open()  # outside the lock: others may take idle ones meanwhile
        except BaseException:
            with self._available:
                self._opened -= 1
                self._available.notify()
            raise

    def _release(self, conn: sqlite3.Connection) -> None:
        if conn.in_transaction:  # never lend a connection in the middle of a transaction
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
        with self._available:
            if self._closed:
                conn.close()
                self._opened -= 1
            else:
                self._idle.append(conn)
            self._available.notify()

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._path,
            timeout=BUSY_TIMEOUT_SECONDS,  # sets SQLite's busy_timeout
            isolation_level=None,  # we BEGIN ourselves; see SqliteStore._write
            check_same_thread=False,
        )
        conn.row_factory = sqlite3.Row
        # NORMAL is durable in WAL mode except for the last commits on power loss,
        # and saves an fsync per commit.
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn
