"""SQLite connections for the store: one per thread, all closed together."""

from __future__ import annotations

import sqlite3
import threading

BUSY_TIMEOUT_SECONDS = 10.0


class ConnectionPerThread:
    """One SQLite connection per thread, all closed by `close_all`.

    Why not one shared connection behind a lock: a thread waiting for the write lock (held
    by another process, up to the busy timeout) would hold that lock and stall every reader
    in this process, and reads would run one at a time although WAL lets them run side by
    side. A connection of one's own per thread gives both, and each keeps its own prepared
    statement cache. `check_same_thread=False` is only so `close_all` may close the
    connections of other threads; a connection is never used by two threads at once.
    Threads come and go (one per HTTP request in the local server), so a new connection
    first closes those of threads that have ended. Like any SQLite connection, a store must
    not cross a fork: a child process opens its own.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._local = threading.local()
        self._lock = threading.Lock()
        self._by_thread: dict[threading.Thread, sqlite3.Connection] = {}
        self._closed = False

    def get(self) -> sqlite3.Connection:
        if self._closed:
            raise RuntimeError("the store is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._open_for(threading.current_thread())
        return conn

    def close_all(self) -> None:
        with self._lock:
            self._closed = True
            for conn in self._by_thread.values():
                conn.close()
            self._by_thread.clear()

    def _open_for(self, thread: threading.Thread) -> sqlite3.Connection:
        with self._lock:
            for ended in [t for t in self._by_thread if not t.is_alive()]:
                self._by_thread.pop(ended).close()
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
            self._by_thread[thread] = conn
            return conn
