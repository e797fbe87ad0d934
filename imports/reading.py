"""Reading an uploaded table a row at a time: ``.xlsx`` through openpyxl's
read-only mode (rows stream from the zip, the sheet is never loaded whole) and
CSV through the csv module over a text stream in the detected encoding.

CSV encodings: UTF-8 (with or without the byte-order mark Excel writes) is
tried first, then GB18030, which Chinese Excel writes by default ("ANSI" on a
Chinese Windows) and which contains GBK and GB2312. Only when neither decodes
the sample does charset-normalizer guess.
"""

import codecs
import csv
import datetime
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Enough of a CSV to judge its encoding and dialect.
SAMPLE_BYTES = 256 * 1024
FORMATS = ("csv", "xlsx")


def file_format(name: str) -> str:
    """``csv`` or ``xlsx`` from the file's name; anything else is refused."""
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ValidationError(_("Upload a .xlsx or .csv file."), code="bad_format")
    return suffix


def detect_encoding(sample: bytes) -> str:
    """The encoding of a CSV from its first bytes (see the module's docstring)."""
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            # final=False: a character cut by the end of the sample is not an error.
            decoder.decode(sample, final=False)
        except UnicodeDecodeError:
            continue
        return encoding
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is None:
        raise ValidationError(_("The file's text encoding could not be recognised."), code="bad_encoding")
    return best.encoding


def cell_text(value) -> str:
    """A cell as the text a person would have typed: whole numbers without
    ``.0``, dates without a midnight time."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime):
        if (value.hour, value.minute, value.second) == (0, 0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes" if value.second == 0 else "seconds")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value).strip()


class Table:
    """An opened upload: ``header`` (the first non-empty row, as text) and
    ``rows()``, yielding ``(line, values)`` for every later row with a value,
    ``line`` being the row's number in the file as Excel shows it."""

    def __init__(self, path: str | Path, fmt: str, encoding: str = ""):
        self.path, self.format = str(path), fmt
        self.encoding = encoding
        self.header: list[str] = []
        self._header_line = 0
        self._workbook = self._sheet = None
        if fmt == "csv" and not encoding:
            with open(self.path, "rb") as handle:
                self.encoding = detect_encoding(handle.read(SAMPLE_BYTES))
        if fmt == "xlsx":
            self._open_workbook()
        for line, values in self._raw_rows():
            self.header = [cell_text(v) for v in values]
            self._header_line = line
            break
        if not any(self.header):
            raise ValidationError(_("The file has no header row."), code="no_header")

    def rows(self) -> Iterator[tuple[int, list]]:
        for line, values in self._raw_rows():
            if line > self._header_line:
                yield line, values

    def count_rows(self) -> int:
        """About how many data rows (for the progress bar), without parsing
        them: an xlsx sheet's recorded dimension (or its row tags when the
        writer left the dimension out), a CSV's line breaks."""
        if self.format == "xlsx":
            if self._sheet.max_row:
                return max(0, self._sheet.max_row - self._header_line)
            rows = 0
            with self._workbook._archive.open(self._sheet._worksheet_path) as source:
                while chunk := source.read(1 << 20):
                    rows += chunk.count(b"<row ") + chunk.count(b":row ")
            return max(0, rows - self._header_line)
        breaks = 0
        with open(self.path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                breaks += chunk.count(b"\n")
                last_byte = chunk[-1:]
        if breaks and last_byte != b"\n":
            breaks += 1
        return max(0, breaks - self._header_line)

    def close(self) -> None:
        if self._workbook is not None:
            self._workbook.close()
            self._workbook = self._sheet = None

    def __enter__(self) -> "Table":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _raw_rows(self) -> Iterator[tuple[int, list]]:
        reader = self._xlsx_rows() if self.format == "xlsx" else self._csv_rows()
        for line, values in enumerate(reader, start=1):
            if values and any(v is not None and str(v).strip() != "" for v in values):
                yield line, list(values)

    def _csv_rows(self) -> Iterator[list]:
        with open(self.path, encoding=self.encoding, newline="", errors="strict") as handle:
            sample = handle.read(8192)
            handle.seek(0)
            try:
                dialect = csv.Sniffer().sniff(sample, delimiters=",\t;|")
            except csv.Error:
                dialect = csv.excel
            try:
                yield from csv.reader(handle, dialect)
            except UnicodeDecodeError as exc:
                raise ValidationError(
                    _("The file is not all in one text encoding (%(encoding)s); save it again as UTF-8 CSV.")
                    % {"encoding": self.encoding},
                    code="bad_encoding",
                ) from exc
            except csv.Error as exc:
                raise ValidationError(_("The CSV file cannot be read: %(error)s") % {"error": exc}) from exc

    def _open_workbook(self) -> None:
        """Opened once: openpyxl reads a sheet's size when it opens it, which
        means reading the whole sheet when the writer left the size out."""
        from openpyxl import load_workbook

        try:
            self._workbook = load_workbook(self.path, read_only=True, data_only=True)
            self._sheet = self._workbook.worksheets[0]
        except (zipfile.BadZipFile, OSError, KeyError, ValueError, IndexError) as exc:
            raise ValidationError(_("The file is not an Excel workbook (.xlsx)."), code="bad_xlsx") from exc

    def _xlsx_rows(self) -> Iterator[tuple]:
        # Each pass parses the sheet from its start, a row at a time.
        yield from self._sheet.iter_rows(values_only=True)


def open_table(path: str | Path, fmt: str, encoding: str = "") -> Table:
    return Table(path, fmt, encoding)
