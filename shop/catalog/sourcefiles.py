"""Reading catalog source files line by line, with every way a file can be bad put into words.

A file is read as UTF-8 (a leading byte-order mark is dropped), gunzipped when its name
ends in ``.gz``. What makes a whole file unusable (not gzip, truncated or damaged gzip
data, bytes that are not UTF-8, an unreadable file) raises :class:`SourceFileError`
naming the file and the line; the caller refuses the file rather than import part of
it. What makes one row or line bad is a :class:`Problem` the caller reports and skips.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Problem:
    """One bad input: where it is (file, line, column) and a one-line reason.

    ``line`` counts from 1 (a CSV header is line 1); ``column`` is a CSV column's name or
    a character position (from 1), None when the whole line or file is meant.
    ``warning`` marks input that was ignored rather than skipped (an unknown column).
    """

    file: str
    line: int | None
    column: str | None
    reason: str
    warning: bool = False

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.reason}"


class SourceFileError(ValueError):
    """A source file that cannot be imported at all; ``problem`` says where and why."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


class LineReader:
    """Iterate a file's lines as text (newline kept), counting them.

    ``number`` is the number of the last line handed out; :meth:`mark` starts a new
    record and ``recent`` holds the lines handed out since (a CSV record may span lines).

    Iterating raises:
        SourceFileError: the file is not gzip data although named ``.gz`` (or gzip data
            named otherwise), its gzip data is truncated or damaged, a line is not
            UTF-8, or the file cannot be read.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.name = str(path)
        self.number = 0
        self.recent: list[str] = []

    def mark(self) -> None:
        """Start collecting the lines of a new record in ``recent``."""
        self.recent = []

    def _refuse(self, reason: str, line: int | None = None, column: str | None = None) -> SourceFileError:
        return SourceFileError(Problem(self.name, line, column, reason))

    def _open(self) -> BinaryIO:
        if self.path.suffix == ".gz":
            return gzip.open(self.path, "rb")
        return open(self.path, "rb")

    def __iter__(self) -> Iterator[str]:
        try:
            with self._open() as fh:
                for raw in fh:
                    self.number += 1
                    text = self._decode(raw)
                    self.recent.append(text)
                    yield text
        except EOFError:
            raise self._refuse(
                f"the gzip data ends inside line {self.number + 1}: the file is truncated "
                "(was the download or copy complete?)",
                line=self.number + 1,
            ) from None
        except gzip.BadGzipFile as exc:
            if self.number == 0:
                raise self._refuse(
                    "not gzip data although the name ends in .gz (rename a plain file to .csv or .jsonl)"
                ) from None
            raise self._refuse(f"damaged gzip data ({exc})", line=self.number + 1) from None
        except zlib.error as exc:
            raise self._refuse(f"damaged gzip data ({exc})", line=self.number + 1) from None
        except OSError as exc:
            raise self._refuse(f"cannot read the file ({exc.strerror or exc})") from None

    def _decode(self, raw: bytes) -> str:
        """One line as text; raises SourceFileError when it is not UTF-8."""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            if self.number == 1 and raw.startswith(GZIP_MAGIC):
                raise self._refuse("gzip data in a file whose name does not end in .gz") from None
            column = len(raw[: exc.start].decode("utf-8", "replace")) + 1
            raise self._refuse(
                f"not UTF-8 text: byte 0x{raw[exc.start]:02x} cannot be decoded (is the file "
                "Latin-1 or Windows-1252? save it as UTF-8)",
                line=self.number,
                column=str(column),
            ) from None
        if self.number == 1 and text.startswith("\ufeff"):
            text = text[1:]  # a UTF-8 byte-order mark, as spreadsheet programs write
        return text
