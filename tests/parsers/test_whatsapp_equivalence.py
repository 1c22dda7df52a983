"""The WhatsApp parser's fast paths give exactly what its general paths give.

Small files take Python shortcuts (precompiled ``re`` twins of the RE2 patterns, a Python header
screen); large files take Arrow shortcuts (a fixed-width header pattern, a union prefilter for
the message kinds, a selective trailing-whitespace trim). Forcing every size threshold to zero
sends a small input down the large-file path, so both paths are compared on the same input.
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from kpi_transforms.core.errors import RejectedFile
from kpi_transforms.sources.whatsapp import parser as wa
from tests.parsers.test_whatsapp_realdata import ALL_FILES


def _outcome(data, **kw):
    try:
        return wa._parse(data, date_order="auto", hint=None, **kw)
    except RejectedFile as exc:
        return f"rejected: {exc}"


def _assert_same(fast, slow):
    if isinstance(slow, str) or isinstance(fast, str):
        assert fast == slow
        return
    pd.testing.assert_frame_equal(fast.messages, slow.messages, check_exact=True)
    pd.testing.assert_frame_equal(fast.rejected, slow.rejected, check_exact=True)
    for f in ("layout", "date_order", "date_order_source", "ambiguous", "lines_read",
              "header_lines", "continuation_lines", "quarantined_lines"):  # fmt: skip
        assert getattr(fast, f) == getattr(slow, f), f


@pytest.fixture(params=["union", "no-union"])
def large_file_paths(request, monkeypatch):
    """Every size threshold at zero: Arrow kernels, fixed-width headers and two threads, with
    and without the union prefilter of the message kinds."""

    def parse(data):
        with monkeypatch.context() as m:
            m.setattr(wa, "_PY_MAX_ITEMS", 0)
            m.setattr(wa, "_FIXED_MIN_LINES", 0)
            m.setattr(wa, "_PARALLEL_MIN", 1)
            if request.param == "union":
                m.setattr(wa, "_UNION_MIN_BYTES", 0)
            return _outcome(data)

    return parse


def _generated_export(rnd: random.Random, n: int) -> str:
    """An export mixing zero-padded and unpadded fields, several layouts, odd spacing and the
    message kinds, so the fixed-width pattern matches some headers and not others."""
    bodies = [
        "Halo kak", "<Media tidak disertakan>", "IMAGE OMİTTED", "image omitted", "ok  ",
        "Pesan ini dihapus", "THİS MESSAGE WAS DELETED", "x\u00a0", "🙏", "a: b", "", "x\u3000",
        "Budi turned on disappearing messages.", "IMG-1.jpg (file attached)", "wow\u2028",
    ]  # fmt: skip
    names = ["Budi", "Lia Sales", "~\u202fUser 2", 'X "Y"', "+62 812-3456-7890"]
    lines = []
    for k in range(n):
        d, mo, h, mi = 1 + k % 28, 1 + k % 12, k % 24, k % 60
        pad = (lambda v: f"{v:02d}") if rnd.random() < 0.7 else str
        h12, ap = pad(h % 12 or 12), "PM" if h > 11 else "AM"
        header = rnd.choice(
            [
                f"{pad(d)}/{pad(mo)}/24 {pad(h)}.{mi:02d} - ",
                f"{pad(d)}/{pad(mo)}/24 {pad(h)}.{mi:02d} -  ",
                f"[{pad(mo)}/{pad(d)}/24, {h12}:{mi:02d}:05 {ap}] ",
                f"{pad(d)}.{pad(mo)}.2024, {pad(h)}:{mi:02d} - ",
            ]
        )
        if rnd.random() < 0.1:
            lines.append(header + "Budi changed the group name")
        else:
            lines.append(f"{header}{rnd.choice(names)}: {rnd.choice(bodies)}")
        lines.extend(rnd.choice([[], [], ["lanjutan"], ["", "  "], ["12/04/25 resi 1"]]))
    return "\n".join(lines) + rnd.choice(["", "\n"])


@pytest.mark.parametrize("seed", range(8))
def test_generated_exports_parse_the_same_on_both_paths(seed, large_file_paths):
    rnd = random.Random(seed)
    data = _generated_export(rnd, rnd.choice([3, 40, 400])).encode("utf-8")
    _assert_same(large_file_paths(data), _outcome(data))


def test_real_exports_parse_the_same_on_both_paths(realdata, large_file_paths):
    for rel in ALL_FILES:
        data = (realdata / rel).read_bytes()
        _assert_same(large_file_paths(data), _outcome(data))


# --- the Python twins of the message-kind patterns ----------------------------------------------
TRICKY_TEXTS = [
    "This message was deleted", "THIS MESSAGE WAS DELETED", "THİS MESSAGE WAS DELETED",
    "thıs message was deleted", "This meſſage was deleted", "This message was deleted\n",
    "This message was deleted.\n", "This message was deleted oleh Admin", "pesan ini dihapus",
    "Pesan ını dihapus", "ANDA MENGHAPUS PESAN INI", "вы удалили ᲂто сообщение",
    "ВЫ УДАЛИЛИ ЭТО СООБЩЕНИЕ", "تم حذف هذه الرسالة", "لقد حذَفت هذه الرسالة",
    "<Media omitted>", "<MEDIA OMİTTED>", "<media omıtted>", "image omitted", "IMAGE OMITTED",
    "foto\ttidak disertakan", "foto\x0btidak disertakan", "foto\u00a0tidak disertakan",
    "x\nimage omitted", "x\n<attached: a.jpg>", "<\n attached : a>", "a (FILE ATTACHED)",
    "stiker tidak diſertakan", "Bild wegge\u017flassen", "kontaktkarte weggelassen \t",
    "<Media tidak disertakan>\ncaption", "<Media tidak disertakan> x", "<без медиафайлов>",
    "Messages and calls are end-to-end encrypted", "messages and calls are end-to-end encrypted",
    "Budi turned on disappearing messages.", "Budi turned on disappearing messages\nx",
    "Your security code with Budi changed", "Kode keamanan Anda dengan Budi telah berubah",
    "Budi telah mengganti nomor teleponnya", "", "\n", "ok", "<", "(", "gelas", "pertanyaan",
]  # fmt: skip


def _re2_match(pattern: str, texts: list[str]) -> list[bool]:
    arr = pa.array(texts, type=pa.large_string())
    return pc.match_substring_regex(arr, pattern).to_pylist()


@pytest.mark.parametrize("pattern", wa._KIND_RE2, ids=["notice", "media", "deleted"])
def test_python_twins_match_like_re2(pattern):
    rnd = random.Random(1)
    texts = list(TRICKY_TEXTS)
    for _ in range(300):  # pieces of the tricky texts glued together
        texts.append("".join(rnd.choice(TRICKY_TEXTS)[: rnd.randint(0, 30)] for _ in range(3)))
    twin = wa._python_twin(pattern)
    expected = _re2_match(pattern, texts)
    assert [twin.match(t) is not None for t in texts] == expected
    union = _re2_match(wa._KIND_ANY_RE2, texts)
    assert all(u for u, e in zip(union, expected) if e)  # the union is a superset
    if pattern == wa._MEDIA_RE2:  # the cheap media test never drops a match
        assert all(wa._maybe_media(t) for t, e in zip(texts, expected) if e)


def test_python_twin_folds_case_like_re2_for_every_pattern_letter():
    letters = sorted(
        {c for p in (wa._MEDIA_RE2, wa._DELETED_RE2) for c in p if c.lower() != c.upper()}
    )
    # every code point whose case folding may meet one of these letters
    candidates = sorted(
        {c for c in map(chr, range(0x2500)) if c.lower() in letters or c.upper() in letters}
        | {"\u017f", "\u212a", "\u212b", "\u0130", "\u0131"}
        | {chr(c) for c in range(0x1C80, 0x1C89)}
    )
    arr = pa.array(candidates, type=pa.large_string())
    for letter in letters:
        expected = pc.match_substring_regex(arr, f"(?i)^{letter}$").to_pylist()
        twin = wa._python_twin(f"(?i)^{letter}$")
        assert [twin.match(c) is not None for c in candidates] == expected, letter


# --- selective trailing-whitespace trim ---------------------------------------------------------
def test_trimmed_texts_equal_the_arrow_trim():
    codes = (0x9, 0xB, 0x1F, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x2028, 0x202F, 0x205F, 0x3000,
             0x200B, 0x41, 0x1F64F, 0x7F, 0xFEFF)  # fmt: skip
    ends = [chr(c) for c in codes]
    texts = [f"a{e}" for e in ends] + [f"{e}{e}" for e in ends] + ["", "b", "c\n\n", "é"]
    raw = "|".join(texts).encode("utf-8")
    lines = wa._Lines(raw)
    bounds = np.cumsum([0] + [len(t.encode("utf-8")) + 1 for t in texts])
    lo, hi = bounds[:-1], bounds[1:] - 1
    got = wa._trimmed_texts(lines, lo.astype(np.int64), hi.astype(np.int64))
    expected = pc.utf8_rtrim_whitespace(pa.array(texts, type=pa.large_string()))
    assert got.to_pylist() == expected.to_pylist()


# --- fixed-width headers ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "sample, others",
    [
        ("12/04/25 14.17 - A: x", ["01/01/24 00.00 - B", "1/1/24 0.00 - C", "12/04/25 14.17 -  "]),
        ("[1/2/22, 9:41:32 PM] A: x", ["[1/2/22, 9:41:32 AM] B: y", "[11/12/22, 10:41:32 PM] C"]),
        ("7/19/22, 11:32\u202fPM - A: x", ["7/19/22, 11:32\u202fam - B", "7/19/22, 11:32 PM - C"]),
        ("[21:41:35, 3/27/22] A: x", ["[01:41:35, 3/27/22] B: y", "[1:41:35, 3/27/22] C"]),
        ("2022. 3. 27. 오후 9:41:35 - A: x", ["2022. 3. 27. 오전 9:41:35 - B: y"]),
    ],
)  # fmt: skip
def test_fixed_width_lines_split_like_the_layout_pattern(sample, others):
    layout = wa._layout_from_sample(wa._match_header_py(sample))
    assert layout is not None and layout.fixed is not None
    lines = pa.array([sample, *others], type=pa.large_string())
    fixed = pc.match_substring_regex(lines, layout.fixed.pattern).to_pylist()
    got = pc.extract_regex(lines, layout.pattern).to_pylist()
    assert fixed[0]
    for line, is_fixed, groups in zip(lines.to_pylist(), fixed, got):
        if not is_fixed:
            continue
        raw = line.encode("utf-8")
        (d0, dn), (t0, tn) = layout.fixed.date, layout.fixed.time
        assert raw[d0 : d0 + dn].decode() == groups["date"]
        assert raw[t0 : t0 + tn].decode() == groups["time"]
        header = layout.const_len + sum(len(groups[k].encode()) for k in ("date", "time", "sep"))
        assert layout.fixed.length == header
