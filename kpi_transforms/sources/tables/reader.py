"""Reading a sheet: ``.csv`` (encoding and delimiter sniffed) or ``.xlsx`` into a header and
rows, plus the cell, flag and date-time parsing the table parsers share.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
import unicodedata
import zoneinfo
from collections.abc import Callable

import numpy as np
import pandas as pd

from kpi_transforms.core.errors import RejectedFile


def header_key(name: object) -> str:
    """Comparison key of a header or a coded value: NFKC, case-folded, letters and digits only."""
    text = unicodedata.normalize("NFKC", str(name or "")).casefold()
    return re.sub(r"[^0-9a-z]+", "", text)

# -------------------------------------------------------------------------------------------
# Row files: CSV (any of , ; tab |; UTF-8, UTF-16 or Windows-1252) and XLSX
@dataclasses.dataclass
class Table:
    """The rows of a CSV / XLSX file under its header row."""

    header: list[str]
    rows: pd.DataFrame  # object columns named by header, plus __line__ (and __error__, __raw__)
    layout: str  # e.g. "csv ';' cp1252, header line 1" or "xlsx sheet 'Detail Chat', header row 3"
    header_line: int

    def column(self, name: str) -> pd.Series:
        return self.rows[name]


_DELIMITERS = (",", ";", "\t", "|")
HEADER_SEARCH_ROWS = 10


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 (with or without BOM), UTF-16 with a BOM, else line by line UTF-8
    falling back to Windows-1252 (Excel's "CSV" on Indonesian Windows) for lines that are not
    UTF-8. Raises RejectedFile for binary data."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise RejectedFile(f"not readable UTF-16 text (byte {exc.start})") from exc
    if b"\x00" in data[:4096]:
        raise RejectedFile("binary data, not a CSV text file")
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    lines, fallback, utf8_non_ascii = [], 0, 0
    for line in data.split(b"\n"):
        try:
            lines.append(line.decode("utf-8"))
            utf8_non_ascii += not line.isascii()
        except UnicodeDecodeError:
            try:
                lines.append(line.decode("cp1252"))
            except UnicodeDecodeError as exc:
                raise RejectedFile("neither UTF-8 nor Windows-1252 text; save the file as CSV UTF-8") from exc
            fallback += 1
    text = "\n".join(lines)
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, ("cp1252" if not utf8_non_ascii else "utf-8+cp1252 (mixed)")


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the most consistent number (> 1) of
    fields; ties go to the larger field count, then to the order , ; tab |."""
    sample = [line for line in text.splitlines()[:40] if line.strip()][:25]
    best, best_score = ",", (-1, -1)
    for delim in _DELIMITERS:
        counts = [len(row) for row in csv.reader(io.StringIO("\n".join(sample)), delimiter=delim)]
        if not counts:
            continue
        modal = max(set(counts), key=lambda c: (counts.count(c), c))
        if modal < 2:
            continue
        score = (counts.count(modal), modal)
        if score > best_score:
            best, best_score = delim, score
    return best


def _csv_records(text: str, delimiter: str) -> list[tuple[int, list[str] | None, str | None]]:
    """(line number, cells or None, error) per non-empty physical record."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    out = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            out.append((reader.line_num, None, f"unreadable CSV row: {exc}"))
            continue
        if any(cell.strip() for cell in row):
            out.append((reader.line_num, row, None))
    return out


def _pick_header(candidates: list[tuple[int, list]], score: Callable[[list[str]], int]) -> int:
    """Index of the header row among the first rows: the best-scoring one (ties: the first)."""
    best, best_score = 0, 0
    for i, (_line, cells) in enumerate(candidates[:HEADER_SEARCH_ROWS]):
        value = score([str(c) if c is not None else "" for c in cells])
        if value > best_score:
            best, best_score = i, value
    return best


def _dedupe(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, name in enumerate(header):
        name = name.strip() or f"column_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        out.append(name)
    return out


def read_rows(data: bytes, suffix: str, score: Callable[[list[str]], int] | None = None) -> Table:
    """Read a ``.csv`` / ``.xlsx`` row file. The header is the best-scoring row among the first
    ten (``score`` = how many known column names a row has; title rows above it are skipped).
    A CSV row with the wrong number of fields is kept as an error row (``__error__``)."""
    score = score or (lambda cells: 1)
    if not data.strip():
        raise RejectedFile("empty file")
    if suffix == ".xlsx":
        return _read_xlsx(data, score)
    text, encoding = decode_text(data)
    delimiter = sniff_delimiter(text)
    records = _csv_records(text, delimiter)
    if not records:
        raise RejectedFile("no rows")
    good = [(line, cells) for line, cells, err in records if cells is not None]
    if not good:
        raise RejectedFile("no readable CSV row")
    h = _pick_header(good, score)
    header_line, header_cells = good[h]
    header = _dedupe([c.strip() for c in header_cells])
    rows = []
    for line, cells, err in records:
        if line <= header_line:
            continue
        if cells is None:
            rows.append({"__line__": line, "__error__": err})
        elif len(cells) != len(header):
            rows.append({"__line__": line, "__error__": f"row has {len(cells)} fields, the header has {len(header)} (unquoted delimiter {delimiter!r}?)",
                         "__raw__": delimiter.join(cells)[:500]})
            continue
        if cells is not None:
            record: dict = dict(zip(header, cells))
            record["__line__"] = line
            rows.append(record)
    frame = pd.DataFrame.from_records(rows, columns=header + ["__line__", "__error__", "__raw__"])
    frame = frame.astype({c: object for c in header})
    shown = {"\t": "tab", ",": ",", ";": ";", "|": "|"}[delimiter]
    return Table(header, frame, f"csv {shown} {encoding}, header line {header_line}", header_line)


def _read_xlsx(data: bytes, score: Callable[[list[str]], int]) -> Table:
    import zipfile

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise RejectedFile(f"not a readable .xlsx workbook: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
    best = None
    try:
        for sheet in workbook.worksheets:
            rows = []
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                if values is None or not any(v is not None and str(v).strip() for v in values):
                    continue
                rows.append((number, list(values)))
            if not rows:
                continue
            h = _pick_header(rows, score)
            value = score([str(c) if c is not None else "" for c in rows[h][1]])
            if best is None or value > best[0]:
                best = (value, sheet.title, rows, h)
    finally:
        workbook.close()
    if best is None:
        raise RejectedFile("the workbook has no rows")
    _value, title, rows, h = best
    header_line, header_cells = rows[h]
    width = max(i + 1 for i, c in enumerate(header_cells) if c is not None and str(c).strip())
    header = _dedupe([str(c).strip() if c is not None else "" for c in header_cells[:width]])
    records = []
    for line, values in rows[h + 1 :]:
        values = (list(values) + [None] * width)[:width]
        record = {name: (v.strip() if isinstance(v, str) else v) for name, v in zip(header, values)}
        record["__line__"] = line
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=header + ["__line__", "__error__", "__raw__"])
    frame = frame.astype({c: object for c in header})
    return Table(header, frame, f"xlsx sheet {title!r}, header row {header_line}", header_line)


# -------------------------------------------------------------------------------------------
# Values: date-times, flags
# -------------------------------------------------------------------------------------------

_MONTHS = {
    "jan": 1, "januari": 1, "january": 1, "feb": 2, "februari": 2, "february": 2, "peb": 2, "pebruari": 2,
    "mar": 3, "maret": 3, "march": 3, "apr": 4, "april": 4, "mei": 5, "may": 5, "jun": 6, "juni": 6, "june": 6,
    "jul": 7, "juli": 7, "july": 7, "agu": 8, "agt": 8, "agus": 8, "agustus": 8, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9, "okt": 10, "oktober": 10, "oct": 10, "october": 10,
    "nov": 11, "nopember": 11, "november": 11, "des": 12, "desember": 12, "dec": 12, "december": 12,
}
_NUMERIC_DATE = re.compile(
    r"^(\d{1,4})[/\-.](\d{1,2})[/\-.](\d{1,4})(?:[ T,]+(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?(?:\.\d+)?\s*([AaPp][Mm])?)?$"
)
_NAMED_DATE = re.compile(
    r"^(?:[A-Za-z]+,?\s+)?(\d{1,2})\s+([A-Za-z]+)\.?\s+(\d{4})(?:[ ,]+(?:pukul\s+)?(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?)?(?:\s*WIB)?$",
    re.IGNORECASE,
)
_ISO_OFFSET = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$")
EXCEL_EPOCH = dt.datetime(1899, 12, 30)
TRUE_WORDS = {"ya", "y", "yes", "true", "t", "1", "aktif", "on", "libur", "benar"}
FALSE_WORDS = {"tidak", "tdk", "n", "no", "false", "f", "0", "nonaktif", "off", "", "none", "nan", "-"}


def _parts(text: str) -> tuple[int, int, int, int, int, int, bool | None] | None:
    """(a, b, year, h, m, s, pm) of a numeric date; a / b are day / month in unknown order."""
    match = _NUMERIC_DATE.match(text)
    if not match:
        return None
    p1, p2, p3, hh, mm, ss, ampm = match.groups()
    if len(p1) == 4:  # ISO-like yyyy-mm-dd: a = day, b = month fixed by putting them in order
        year, month, day = int(p1), int(p2), int(p3)
        return (day, month, year, int(hh or 0), int(mm or 0), int(ss or 0), None if not ampm else ampm.lower() == "pm")
    year = int(p3)
    if len(p3) == 2:
        year += 2000
    return (int(p1), int(p2), year, int(hh or 0), int(mm or 0), int(ss or 0), None if not ampm else ampm.lower() == "pm")


def decide_day_first(values: pd.Series) -> tuple[str, str]:
    """(order, source) for d/m vs m/d over a column: ``dmy`` if some first part is > 12,
    ``mdy`` if only some second part is; else day-first, the order used in Indonesia."""
    first_big = second_big = False
    for value in pd.unique(values.dropna()):
        if not isinstance(value, str):
            continue
        text = value.strip()
        match = _NUMERIC_DATE.match(text)
        if not match or len(match.group(1)) == 4:
            continue
        a, b = int(match.group(1)), int(match.group(2))
        first_big |= a > 12
        second_big |= b > 12
    if first_big:
        return "dmy", "file"
    if second_big:
        return "mdy", "file"
    return "dmy", "default"


def _datetime_of(value: object, order: str, tz: zoneinfo.ZoneInfo) -> tuple[dt.datetime | None, str]:
    """A naive local datetime of one cell, or (None, reason)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None, "empty date"
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(tz).replace(tzinfo=None)
        return value, ""
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day), ""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return _number_datetime(float(value), tz)
    text = " ".join(str(value).split())
    if not text:
        return None, "empty date"
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return _number_datetime(float(text), tz)
    if "T" in text or _ISO_OFFSET.search(text):
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is not None:
                parsed = parsed.astimezone(tz).replace(tzinfo=None)
            return parsed, ""
    parts = _parts(text)
    if parts is not None:
        a, b, year, hh, mm, ss, pm = parts
        iso = bool(re.match(r"^\d{4}", text))
        day, month = (a, b) if (iso or order == "dmy") else (b, a)
        if pm is not None:
            if not 1 <= hh <= 12:
                return None, f"impossible time {text!r}"
            hh = (hh % 12) + (12 if pm else 0)
        try:
            return dt.datetime(year, month, day, hh, mm, ss), ""
        except ValueError:
            return None, f"impossible date {text!r} (read as {'yyyy-mm-dd' if iso else order})"
    match = _NAMED_DATE.match(text)
    if match:
        day, month_name, year, hh, mm, ss = match.groups()
        month = _MONTHS.get(month_name.lower().rstrip("."))
        if month is None:
            return None, f"unknown month name {month_name!r}"
        try:
            return dt.datetime(int(year), month, int(day), int(hh or 0), int(mm or 0), int(ss or 0)), ""
        except ValueError:
            return None, f"impossible date {text!r}"
    return None, f"unreadable date {text!r}"


def _number_datetime(number: float, tz: zoneinfo.ZoneInfo) -> tuple[dt.datetime | None, str]:
    """Excel serial days (1900 system) or epoch seconds / milliseconds (UTC -> local)."""
    if 1 <= number < 2_958_466:  # Excel serials up to 9999-12-31
        if number < 20_000:
            return None, f"number {number:g} is not a plausible Excel date (before 1954)"
        return (EXCEL_EPOCH + dt.timedelta(days=number)).replace(microsecond=0), ""
    for scale in (1, 1000):
        seconds = number / scale
        if 946_684_800 <= seconds < 4_102_444_800:  # 2000..2100
            utc = dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
            return utc.astimezone(tz).replace(tzinfo=None, microsecond=0), ""
    return None, f"number {number:g} is neither an Excel date nor an epoch timestamp"


def parse_datetimes(values: pd.Series, timezone: str, order: str | None = None) -> tuple[pd.Series, pd.Series, str, str]:
    """Local naive datetimes of a column (text in Indonesian / English / ISO forms, Excel
    serials, epoch seconds or ms, datetime cells) -> (datetime64[us], reasons ('' = ok), order,
    order source). The d/m order is decided over the whole column (:func:`decide_day_first`)."""
    tz = zoneinfo.ZoneInfo(timezone)
    source = "given"
    if order is None:
        order, source = decide_day_first(values)
    cache: dict = {}
    out, reasons = [], []
    for value in values.tolist():
        key = (type(value).__name__, value if not isinstance(value, float) or not np.isnan(value) else "nan")
        try:
            hit = cache.get(key)
        except TypeError:
            hit = None
        if hit is None:
            hit = _datetime_of(value, order, tz)
            try:
                cache[key] = hit
            except TypeError:
                pass
        out.append(hit[0])
        reasons.append(hit[1])
    result = pd.Series(pd.to_datetime(pd.Series(out, dtype=object), errors="coerce"), index=values.index).astype("datetime64[us]")
    return result, pd.Series(reasons, index=values.index, dtype=object), order, source


def parse_flag(value: object) -> bool | None:
    """Yes / no cells (Ya / Tidak, true / false, 1 / 0, Aktif / Nonaktif); None if unreadable."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().casefold()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    return None


def cell_text(value: object) -> str:
    """A cell as text ('' for empty); integral floats lose their '.0' (Excel ids)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
