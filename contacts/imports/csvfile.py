"""Reading an uploaded CSV file: encoding, delimiter, header and rows, or one clear reason to refuse it.

A file is refused whole (``CsvRefused``, nothing written) when it cannot be read as a table:
not text, not UTF-8 / UTF-8 with BOM / Windows-1252, empty, a header only, over the size limit,
or a row wider than ``MAX_COLUMNS``. A readable file with bad rows goes on; the bad rows are
rejected one by one in the report (``contacts.imports.rows``).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

MAX_COLUMNS = 200
MAX_CELL_CHARS = 10_000
SAMPLE_BYTES = 64 * 1024
ENCODINGS = ("utf-8-sig", "cp1252")
READ_BYTES = 1 << 20


class CsvRefused(ValueError):
    """The file cannot be imported at all; the message says why, for the person who uploaded it."""


def size_limit() -> int:
    return settings.IMPORT_MAX_BYTES


def size_limit_text() -> str:
    from django.template.defaultfilters import filesizeformat

    return filesizeformat(size_limit())


@dataclass(frozen=True)
class CsvLayout:
    encoding: str
    delimiter: str
    header: list[str]


def _decodes(path: Path, encoding: str) -> bool:
    """Whether the whole file decodes strictly, read in pieces (memory stays flat)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    with path.open("rb") as raw:
        try:
            while block := raw.read(READ_BYTES):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _delimiter(sample: str) -> str:
    # The header line decides: the sniffer alone guesses wrong on one-column files and on quoted commas.
    first = sample.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(first, delimiters=",;").delimiter
    except csv.Error:
        return ";" if first.count(";") > first.count(",") else ","


def text_rows(path: Path, layout: CsvLayout) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) for each record after the header; a line is the record's first line in the file."""
    with path.open("r", encoding=layout.encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=layout.delimiter, strict=False)
        try:
            next(reader)
            previous_end = reader.line_num
            for cells in reader:
                start, previous_end = previous_end + 1, reader.line_num
                if len(cells) > MAX_COLUMNS:
                    raise CsvRefused(
                        _("Line %(line)s has %(count)s columns; a file may have at most %(max)s. Nothing was imported.")
                        % {"line": start, "count": len(cells), "max": MAX_COLUMNS}
                    )
                if not cells or cells == [""]:
                    continue  # a blank line, as spreadsheets leave at the end
                yield start, cells
        except csv.Error as error:
            raise CsvRefused(
                _("Line %(line)s cannot be read as CSV (%(error)s). Nothing was imported.")
                % {"line": reader.line_num, "error": error}
            ) from None


def csv_layout(path: Path) -> CsvLayout:
    """Check that ``path`` is a CSV file we can read, and return its encoding, delimiter and header."""
    size = path.stat().st_size
    if size == 0:
        raise CsvRefused(_("The file is empty."))
    if size > size_limit():
        raise CsvRefused(_("The file is larger than %(limit)s.") % {"limit": size_limit_text()})
    with path.open("rb") as raw:
        sample = raw.read(SAMPLE_BYTES)
    if b"\x00" in sample:
        raise CsvRefused(
            _("This is not a CSV text file (it holds binary data, or it is UTF-16). Save it as “CSV UTF-8”.")
        )
    encoding = next((name for name in ENCODINGS if _decodes(path, name)), None)
    if encoding is None:
        raise CsvRefused(_("The file is neither UTF-8 nor Windows-1252 text. Save it as “CSV UTF-8”."))
    text = sample.decode(encoding, errors="ignore")
    if not text.strip():
        raise CsvRefused(_("The file is empty."))
    delimiter = _delimiter(text)
    with path.open("r", encoding=encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter, strict=False)
        try:
            header = next(reader)
        except csv.Error as error:
            raise CsvRefused(_("The first line cannot be read as CSV (%(error)s).") % {"error": error}) from None
    header = [name.strip() for name in header]
    if len(header) > MAX_COLUMNS:
        raise CsvRefused(
            _("The header has %(count)s columns; a file may have at most %(max)s.")
            % {"count": len(header), "max": MAX_COLUMNS}
        )
    if not any(header):
        raise CsvRefused(_("The first line must name the columns."))
    if len(header) == 1 and len(text) > 2000 and "\n" not in text[:2000]:
        raise CsvRefused(_("This does not look like a CSV file: the first line has no separator."))
    layout = CsvLayout(encoding=encoding, delimiter=delimiter, header=header)
    if next(text_rows(path, layout), None) is None:
        raise CsvRefused(_("The file has a header but no rows."))
    return layout


def preview_rows(path: Path, layout: CsvLayout, count: int = 5) -> list[list[str]]:
    rows = []
    for _line, cells in text_rows(path, layout):
        rows.append(cells)
        if len(rows) == count:
            break
    return rows


def file_store(upload, directory: Path) -> tuple[Path, str, int]:
    """Write an upload to ``directory`` under its SHA-256, stopping past the size limit; (path, hash, size)."""
    directory.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    partial = directory / f"upload-{id(upload)}.part"
    with partial.open("wb") as out:
        for block in upload.chunks():
            size += len(block)
            if size > size_limit():
                out.close()
                partial.unlink(missing_ok=True)
                raise CsvRefused(_("The file is larger than %(limit)s.") % {"limit": size_limit_text()})
            digest.update(block)
            out.write(block)
    sha = digest.hexdigest()
    path = directory / f"{sha}.csv"
    partial.replace(path)
    return path, sha, size


def row_count(path: Path, layout: CsvLayout) -> int:
    """The number of records, reading the whole file once: a row too wide or unreadable refuses it here."""
    return sum(1 for _row in text_rows(path, layout))
