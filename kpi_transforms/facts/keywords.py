"""Phrase lists (``intent_keywords.yaml``) and the vectorised matchers over message texts that
the intent, quote, case and follow-up rules use: whole words, case-insensitive.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from kpi_transforms.core.config import Config, ConfigError, safe_yaml_load
from kpi_transforms.core.schema import INTENTS

DEFAULT_KEYWORDS = Path(__file__).resolve().with_name("intent_keywords.yaml")
KEYWORDS_ENV = "CHATKPI_INTENT_KEYWORDS"
_LIST_KEYS = ("resolution_phrases", "customer_confirmations", "quote_attachments", "attachment_markers", "quote_prices")
_MAP_KEYS = ("intents", "exclude", "complaint_categories")


# --------------------------------------------------------------------------------------------
# Keyword lists
@dataclasses.dataclass(frozen=True)
class Keywords:
    """The word lists of ``intent_keywords.yaml`` (see the comments there)."""

    intents: Mapping[str, tuple[str, ...]]
    exclude: Mapping[str, tuple[str, ...]]
    complaint_categories: Mapping[str, tuple[str, ...]]  # in priority order
    resolution_phrases: tuple[str, ...]
    customer_confirmations: tuple[str, ...]
    quote_attachments: tuple[str, ...]
    attachment_markers: tuple[str, ...]
    quote_prices: tuple[str, ...]  # regular expressions


def _words(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list of words / phrases")
    out = tuple(str(v).strip() for v in value if str(v).strip())
    return out


def _parse_keywords(raw: Mapping[str, Any], where: str, base: Keywords | None = None) -> Keywords:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping")
    allowed = set(_MAP_KEYS) | set(_LIST_KEYS)
    extra = sorted(set(raw) - allowed)
    if extra:
        raise ConfigError(f"{where}: unknown key {extra[0]!r} (allowed: {', '.join(sorted(allowed))})")
    values: dict[str, Any] = dataclasses.asdict(base) if base else {}
    for key in _MAP_KEYS:
        if key not in raw:
            continue
        body = raw[key] or {}
        if not isinstance(body, Mapping):
            raise ConfigError(f"{where}.{key}: expected a mapping name -> list")
        merged = dict(values.get(key, {}))
        for name, words in body.items():
            merged[str(name)] = _words(words, f"{where}.{key}.{name}")
        values[key] = merged
    for key in _LIST_KEYS:
        if key in raw:
            values[key] = _words(raw[key], f"{where}.{key}")
    for key in _MAP_KEYS:
        values.setdefault(key, {})
    for key in _LIST_KEYS:
        values.setdefault(key, ())
    unknown_intents = sorted(set(values["intents"]) - set(INTENTS))
    if unknown_intents:
        raise ConfigError(f"{where}.intents: unknown intent {unknown_intents[0]!r} (allowed: {', '.join(INTENTS)})")
    for i, pattern in enumerate(values["quote_prices"]):
        try:
            pc.match_substring_regex(pa.array([""]), pattern)
        except pa.ArrowInvalid as exc:
            raise ConfigError(f"{where}.quote_prices[{i}]: bad RE2 regular expression: {exc}") from exc
    return Keywords(
        intents={k: tuple(v) for k, v in values["intents"].items()},
        exclude={k: tuple(v) for k, v in values["exclude"].items()},
        complaint_categories={k: tuple(v) for k, v in values["complaint_categories"].items()},
        **{k: tuple(values[k]) for k in _LIST_KEYS},
    )


@functools.lru_cache(maxsize=16)
def _load(default: str, override: str | None, mtimes: tuple[float, ...]) -> Keywords:
    del mtimes  # part of the cache key only
    base = _parse_keywords(yaml.load(Path(default).read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}, default)
    if override is None:
        return base
    try:
        text = Path(override).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"keyword file {override!r} is not UTF-8 text (byte {exc.start})") from None
    # a user's file: duplicate keys, deep nesting and alias bombs refused (issue 15)
    return _parse_keywords(safe_yaml_load(text, f"keyword file {override!r}") or {}, override, base)


def keywords_path(config: Config | None = None) -> Path | None:
    """The installation's keyword file: ``$CHATKPI_INTENT_KEYWORDS``, else
    ``intent_keywords.yaml`` next to the config file, else None (shipped lists only)."""
    env = os.environ.get(KEYWORDS_ENV)
    if env:
        path = Path(env)
        if not path.is_file():
            raise ConfigError(f"{KEYWORDS_ENV}: no such file {env}")
        return path
    if config is not None and config.source_path:
        beside = Path(config.source_path).resolve().parent / "intent_keywords.yaml"
        if beside.is_file() and beside != DEFAULT_KEYWORDS:
            return beside
    return None


def load_keywords(config: Config | None = None) -> Keywords:
    """The shipped lists, with the installation's file (see :func:`keywords_path`) on top."""
    override = keywords_path(config)
    files = [DEFAULT_KEYWORDS] + ([override] if override else [])
    return _load(str(DEFAULT_KEYWORDS), str(override) if override else None, tuple(f.stat().st_mtime for f in files))


_WORD_EDGE_BEFORE = r"(^|[^\pL\pN_])"  # start of text, or a character that is not a letter, digit or _
_WORD_EDGE_AFTER = r"([^\pL\pN_]|$)"


def phrase_regex(phrases: Iterable[str]) -> str | None:
    """One case-insensitive RE2 expression (Arrow's regex engine: linear time) matching any of
    ``phrases`` as a whole word / phrase; a space inside a phrase matches any whitespace run.
    Longest phrases first, so a phrase wins over its first word."""
    items = sorted({p.strip() for p in phrases if p and p.strip()}, key=lambda p: (-len(p), p))
    if not items:
        return None
    body = "|".join(r"\s+".join(re.escape(w) for w in p.split()) for p in items)
    return f"(?i){_WORD_EDGE_BEFORE}(?:{body}){_WORD_EDGE_AFTER}"


def _is_arrow_string(dtype: Any) -> bool:
    """True for pandas string columns that hold Arrow memory (``string[pyarrow]``, ``str``,
    ``ArrowDtype(string)``): they convert to Arrow without copying a single string."""
    if isinstance(dtype, pd.StringDtype):
        return dtype.storage == "pyarrow"
    if isinstance(dtype, pd.ArrowDtype):
        return pa.types.is_string(dtype.pyarrow_dtype) or pa.types.is_large_string(dtype.pyarrow_dtype)
    return False


def _arrow_strings(values: Any) -> pa.Array:
    """``values`` as one contiguous Arrow large_string array, missing values kept as null.

    Arrow arrays and Arrow-backed pandas strings are used as they are (no Python objects: the
    conversion through ``astype(object)`` costs seconds on a million messages); anything else
    (object columns, NumPy arrays) goes through ``str()`` as before."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        array = values
    elif isinstance(values, pd.Series) and _is_arrow_string(values.dtype):
        array = pa.array(values.array)
    else:
        series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
        missing = series.isna().to_numpy()
        return pa.array([None if gone else str(v) for v, gone in zip(series.astype(object), missing)], type=pa.large_string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if not pa.types.is_large_string(array.type):
        array = array.cast(pa.large_string())
    return array


def _arrow_column(values: pd.Series) -> pa.Array | pa.ChunkedArray:
    """A message column as Arrow without copying: the chunks of an Arrow-backed column as they
    are (pandas' ``__arrow_array__`` protocol; a million-row column read from the warehouse
    arrives in several chunks, and combining them would copy every string), else converted."""
    if _is_arrow_string(values.dtype):
        return values.array.__arrow_array__()
    return _arrow_strings(values)


def _arrow_text(texts: Any) -> pa.Array:
    """Texts as one Arrow large_string array, missing -> "" (other values as ``str()``)."""
    array = _arrow_strings(texts)
    return array.fill_null("") if array.null_count else array


def _matches(array: pa.Array, pattern: str) -> np.ndarray:
    """Bool per (non-null) text: the RE2 ``pattern`` matches somewhere in it."""
    return pc.match_substring_regex(array, pattern).to_numpy(zero_copy_only=False, writable=True)


def _take(array: pa.Array | pa.ChunkedArray, rows: np.ndarray) -> pa.Array:
    """``array[rows]`` as one contiguous Arrow array; rows of -1 give null.

    A ChunkedArray (a column as the warehouse read delivered it) is gathered chunk by chunk:
    Arrow's own take on a chunked string column first concatenates all chunks, i.e. copies
    the whole column (every text of a million messages) for each call, however few rows are
    wanted."""
    rows = np.asarray(rows, dtype=np.int64)
    missing = rows < 0
    if isinstance(array, pa.ChunkedArray):
        if len(array) == 0:
            return pa.nulls(len(rows), array.type)
        if array.num_chunks == 1:
            array = array.chunk(0)
        else:
            lengths = np.array([len(c) for c in array.chunks], dtype=np.int64)
            starts = np.cumsum(lengths) - lengths
            wanted = np.where(missing, 0, rows)
            chunk = np.searchsorted(starts, wanted, side="right") - 1  # empty chunks are skipped
            order = np.argsort(chunk, kind="stable")
            bounds = np.searchsorted(chunk[order], np.arange(array.num_chunks + 1))
            pieces = [
                array.chunk(c).take(pa.array(wanted[order[bounds[c]:bounds[c + 1]]] - starts[c]))
                for c in range(array.num_chunks)
                if bounds[c + 1] > bounds[c]
            ]
            if not pieces:  # no rows wanted
                return pa.array([], type=array.type)
            gathered = pa.concat_arrays(pieces)  # the rows grouped by chunk
            back = np.empty(len(rows), dtype=np.int64)
            back[order] = np.arange(len(rows), dtype=np.int64)
            if not missing.any() and np.array_equal(back, np.arange(len(rows))):
                return gathered
            return gathered.take(pa.array(back, mask=missing))
    return array.take(pa.array(rows, mask=missing))


def contains_any(texts: pd.Series | np.ndarray | pa.Array, phrases: Iterable[str], exclude: Iterable[str] = ()) -> np.ndarray:
    """Bool per text: one of ``phrases`` occurs as a whole word / phrase, case-insensitive,
    after the ``exclude`` phrases were taken out of the text (Arrow string kernels)."""
    pattern = phrase_regex(phrases)
    array = _arrow_text(texts)
    if pattern is None or len(array) == 0:
        return np.zeros(len(array), dtype=bool)
    hit = _matches(array, pattern)
    removed = phrase_regex(exclude)
    if removed is not None:
        # Every text with an excluded phrase is tested again without it, hit or not: taking a
        # phrase out joins its neighbours, which can make a phrase of the list appear.
        rows = np.flatnonzero(_matches(array, removed))
        if len(rows):
            cleaned = _take(array, rows)
            # twice: a match uses up the edge character it shares with an adjacent phrase
            for _ in range(2):
                cleaned = pc.replace_substring_regex(cleaned, removed, r"\1 \2")
            hit[rows] = _matches(cleaned, pattern)
    return hit


def contains_regex(texts: pd.Series | np.ndarray | pa.Array, patterns: Iterable[str]) -> np.ndarray:
    """Bool per text: one of the RE2 regular expressions ``patterns`` matches (case-insensitive)."""
    pats = [p for p in patterns if p]
    array = _arrow_text(texts)
    if not pats or len(array) == 0:
        return np.zeros(len(array), dtype=bool)
    joined = "(?i)" + "|".join(f"(?:{p})" for p in pats)
    return _matches(array, joined)


def _first_match(texts: Any, lists: Iterable[tuple[Iterable[str], Iterable[str]]]) -> np.ndarray:
    """Per text: the index of the first ``(phrases, exclude)`` of ``lists`` that matches, else -1.

    A list is only tested on the texts no earlier list matched: the result is the same as
    testing every list on every text and taking the first hit, with less text to scan. (While
    most texts are left, scanning them all beats copying those out.)"""
    array = _arrow_text(texts)
    out = np.full(len(array), -1, dtype=np.int64)
    rest = np.arange(len(array), dtype=np.int64)
    for i, (phrases, exclude) in enumerate(lists):
        if len(rest) == 0:
            break
        if 2 * len(rest) > len(array):
            hit = contains_any(array, phrases, exclude)[rest]
        else:
            hit = contains_any(_take(array, rest), phrases, exclude)
        out[rest[hit]] = i
        rest = rest[~hit]
    return out


def first_category(texts: pd.Series | np.ndarray | pa.Array, keywords: Keywords, default: str = "lainnya") -> np.ndarray:
    """Complaint category per text: the first of ``keywords.complaint_categories`` with a match."""
    names = list(keywords.complaint_categories)
    exclude = keywords.exclude.get("complaint", ())
    first = _first_match(texts, [(keywords.complaint_categories[name], exclude) for name in names])
    return np.array([*names, default], dtype=object)[first]  # -1 -> the default (last entry)
