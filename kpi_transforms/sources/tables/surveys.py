"""Survey responses (issue 19): NPS and CES answers from a ``.csv`` / ``.xlsx`` sheet into
``marts.fct_survey_response``, merged on a deterministic response id like the other row files.

Columns (Indonesian or English names, docs/INPUTS.md): the customer (id, phone, e-mail or name)
or the thread (``thread_id``), the date (or date-time) of the answer, the score and the scale
(``0-10``, ``1-7``, ``1-5`` ... or just its top, ``10``); an optional survey column (``nps`` /
``ces``). Without one, a 0-10 scale is NPS and any other scale CES. A row is quarantined with
its reason when it names neither customer nor thread, its date or score does not read, the
score lies outside its scale, or the survey kind / scale is unknown; the rest of the file loads.
"""

from __future__ import annotations

import hashlib
import re

import pandas as pd

from kpi_transforms.core.config import Config
from kpi_transforms.core.identity import normalise_email, normalise_name, normalise_phone
from kpi_transforms.core.timezone import localize
from kpi_transforms.sources.base import ParseResult, Source
from kpi_transforms.sources.tables.reader import Table, cell_text, header_key, parse_datetimes
from kpi_transforms.sources.tables.rows import RowTable, _reasons_frame, match_columns, resolve_columns, row_result

SURVEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "score": ("Skor", "Nilai", "Nilai Survei", "Skor Survei", "score", "rating_score"),
    "scale": ("Skala", "Skala Nilai", "scale"),
    "responded_at": ("Tanggal Survei", "Tanggal Jawab", "Waktu Survei", "Tanggal", "Waktu", "responded_at", "date",
                     "survey_date", "answered_at"),
    "survey": ("Jenis Survei", "Survei", "survey", "survey_type", "kind"),
    "thread_id": ("thread_id", "ID Thread"),
    "customer_id": ("ID Pelanggan", "Kode Pelanggan", "customer_id", "customer id"),
    "customer_name": ("Nama Pelanggan", "Pelanggan", "Nama Customer", "Customer", "customer_name", "customer name"),
    "phone": ("No. HP", "No HP", "Nomor HP", "Telepon", "No. WA", "No WA", "WhatsApp", "phone", "customer_phone"),
    "email": ("Email", "E-mail", "customer_email"),
}
SURVEY_REQUIRED = ("score", "scale", "responded_at")
SURVEYS = {"nps": "nps", "netpromoterscore": "nps", "ces": "ces", "customereffortscore": "ces", "": ""}
_SCALE = re.compile(r"^\s*(?:(\d+)\s*(?:-|–|\.\.|to|sampai|s/d)\s*)?(\d+)\s*$", re.IGNORECASE)


def parse_scale(value: object) -> tuple[int, int] | None:
    """``0-10`` -> (0, 10); ``1-7`` -> (1, 7); ``10`` alone -> (0, 10), another top N -> (1, N)."""
    match = _SCALE.match(cell_text(value))
    if not match:
        return None
    top = int(match.group(2))
    low = int(match.group(1)) if match.group(1) is not None else (0 if top == 10 else 1)
    return (low, top) if top > low else None


def _score(value: object) -> float | None:
    text = cell_text(value).replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return None


def parse_surveys(table: Table, config: Config) -> ParseResult:
    """Rows of a survey sheet -> ``marts.fct_survey_response``; bad rows quarantined."""
    cols = resolve_columns(table.header, SURVEY_COLUMNS)
    frame = table.rows
    reasons = _reasons_frame(table)

    def text(field: str) -> pd.Series:
        return frame[cols[field]].map(cell_text) if field in cols else pd.Series("", index=frame.index, dtype=object)

    thread = text("thread_id")
    phone = text("phone").map(lambda v: normalise_phone(v) if v else None)
    email = text("email").map(lambda v: normalise_email(v) if v else None)
    name = text("customer_name").map(lambda v: "name:" + normalise_name(v) if v else None)
    given = text("customer_id")
    key = given.where(given != "", None)
    key = key.where(key.notna(), phone).where(lambda s: s.notna(), email).where(lambda s: s.notna(), name)
    reasons = reasons.where((reasons != "") | (thread != "") | key.notna(), "neither a customer nor a thread_id")
    local, date_reasons, order, source = parse_datetimes(frame[cols["responded_at"]], config.timezone)
    reasons = reasons.where(reasons != "", date_reasons.map(lambda r: f"survey date: {r}" if r else ""))
    score = frame[cols["score"]].map(_score)
    reasons = reasons.where((reasons != "") | score.notna(), text("score").map(lambda v: f"score {v!r} is not a number"))
    scale = frame[cols["scale"]].map(parse_scale)
    reasons = reasons.where((reasons != "") | scale.notna(),
                            text("scale").map(lambda v: f"scale {v!r} is not a range such as 0-10 or 1-7"))
    survey = text("survey").map(lambda v: SURVEYS.get(header_key(v)))
    reasons = reasons.where((reasons != "") | survey.notna(), text("survey").map(lambda v: f"survey {v!r} is not nps / ces"))
    low = scale.map(lambda s: s[0] if s else None)
    high = scale.map(lambda s: s[1] if s else None)
    kind = survey.where(survey != "", low.combine(high, lambda lo, hi: "nps" if (lo, hi) == (0, 10) else "ces"))
    bad_nps = (kind == "nps") & ~((low == 0) & (high == 10))
    reasons = reasons.where((reasons != "") | ~bad_nps, "an NPS answer needs the 0-10 scale")
    outside = score.notna() & scale.notna() & ((score < low.astype(float)) | (score > high.astype(float)))
    reasons = reasons.where((reasons != "") | ~outside,
                            [f"score {s:g} outside the scale {lo:g}-{hi:g}" if o else "" for s, lo, hi, o in zip(score, low, high, outside)])
    ok = reasons == ""
    local_ok = local[ok].reset_index(drop=True)
    thread_ok = thread[ok].reset_index(drop=True).replace("", None)
    key_ok = key[ok].reset_index(drop=True)
    kind_ok = kind[ok].reset_index(drop=True)
    ids = [hashlib.sha256(f"{k}|{t or ''}|{c or ''}|{w:%Y-%m-%dT%H:%M:%S}".encode()).hexdigest()[:24]
           for k, t, c, w in zip(kind_ok, thread_ok, key_ok, local_ok)]
    out = pd.DataFrame(
        {
            "response_id": ids,
            "survey": kind_ok,
            "thread_id": thread_ok,
            "customer_key": key_ok,
            "responded_at": localize(local_ok.fillna(pd.Timestamp("1970-01-01")), config.timezone).where(local_ok.notna()),
            "responded_at_local": local_ok,
            "score": score[ok].astype(float).reset_index(drop=True),
            "scale_min": low[ok].astype("int64").reset_index(drop=True),
            "scale_max": high[ok].astype("int64").reset_index(drop=True),
            "source_line": frame.loc[ok, "__line__"].astype("int64").reset_index(drop=True),
        }
    )
    return row_result(table, {"marts.fct_survey_response": out}, reasons, order, source)


SURVEY_TABLE = RowTable("marts.fct_survey_response", "response_id", order=40)

SOURCE = Source(
    name="surveys", label="survey file (NPS / CES)",
    match=lambda header: match_columns(header, SURVEY_COLUMNS, SURVEY_REQUIRED),
    parse_sheet=lambda table, _data, context: parse_surveys(table, context.config),
)
