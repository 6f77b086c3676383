"""Tables the command prints for people to read and copy from: whole values, aligned.

A table fitted to the terminal's width cuts values (`20261201-081715-8f5e10…`), and a
cut run id cannot be pasted into `containerops logs`; in a pipe the width is a guess
(80), so `containerops runs | awk …` got cut ids too. These tables are therefore laid out
as `docker ps` and `kubectl get` lay theirs out: every value whole, columns padded to
their widest value and three spaces apart, one row per line; a line longer than the
terminal is wrapped by the terminal, not by us. On a terminal the header is bold and
states keep their colours; anywhere else it is plain text.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.text import Text

GAP = "   "

Cell = str | Text


def aligned_lines(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> list[Text]:
    """The header and rows as lines; the last column is not padded (nothing follows it)."""
    header = [Text(name.upper(), style="bold") for name in headers]
    table = [header, *([_text(cell) for cell in row] for row in rows)]
    widths = [max(len(row[column].plain) for row in table) for column in range(len(headers))]
    lines = []
    for row in table:
        line = Text()
        for column, cell in enumerate(row):
            last = column == len(row) - 1
            line.append_text(cell)
            if not last:
                line.append(" " * (widths[column] - len(cell.plain)) + GAP)
        line.rstrip()
        lines.append(line)
    return lines


def print_table(console: Console, headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
    for line in aligned_lines(headers, rows):
        console.print(line, soft_wrap=True)  # never folded or cut to the console's width


def _text(cell: Cell) -> Text:
    # One line per row: a line break inside a value would break the columns apart.
    if isinstance(cell, Text):
        flat = cell.copy()
        flat.plain = flat.plain.replace("\r", " ").replace("\n", " ")
        return flat
    return Text(cell.replace("\r", " ").replace("\n", " "))
