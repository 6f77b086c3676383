"""A fan-out group's list files kept in memory (engine.aggregate.ListFiles)."""

from __future__ import annotations

import io


class _Kept(io.StringIO):
    def __init__(self, texts: dict[str, str], path: str) -> None:
        super().__init__()
        self._texts, self._path = texts, path

    def close(self) -> None:
        if not self.closed:
            self._texts[self._path] = self.getvalue()
        super().close()


class MemoryListFiles:
    def __init__(self) -> None:
        self._texts: dict[str, str] = {}
        self.opened: list[str] = []

    def open(self, relative_path: str) -> io.StringIO:
        self.opened.append(relative_path)
        return _Kept(self._texts, relative_path)

    def texts(self) -> dict[str, str]:
        """Each closed file's text, by its path under the workspace."""
        return dict(self._texts)
