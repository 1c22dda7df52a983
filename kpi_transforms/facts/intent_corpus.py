"""The labelled corpus of customer queues the intent model learns from (docs/DECISIONS.md
"Intent classification"; how it was written: ``kpi_transforms/data/intent_corpus/README.md``).

The hand-written base queues live in ``data/intent_corpus/base/<intent>.txt`` (one queue a
line, messages separated by `` // ``, an optional note after `` ;; ``, ``# --- theme`` lines
group them). :func:`build_corpus` adds deterministic variants of each base queue (abbreviations,
typos, stretched letters, emoji, missing punctuation, split or merged messages, a greeting
before or a closing after) and assigns every base queue *with all its variants* to one split:
``dev`` when the SHA-256 of the base text is divisible by 5, else ``train``. The result is
shipped as ``train.csv`` / ``dev.csv`` (columns ``queue_id, text, intent, note``; the messages
of a queue joined by ``"\\n"``); ``python -m kpi_transforms.facts.intent_corpus --build``
rewrites them and ``--check`` fails when they differ from the build.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import random
import re
import sys
from pathlib import Path

import pandas as pd

from kpi_transforms.facts.intent_text import NEG, WORDS_FILE, normalise

CORPUS_DIR = Path(__file__).resolve().parent.parent / "data" / "intent_corpus"
BASE_DIR = CORPUS_DIR / "base"
INTENT_ORDER = ("complaint", "quote_request", "order", "other")  # priority order (SPEC 7)
COLUMNS = ("queue_id", "text", "intent", "note")
SPLITS = ("train", "dev")
DEV_MODULUS = 5  # one base queue in five goes to dev
VARIANTS = 2  # augmented variants per base queue
MESSAGE_SEP = " // "
NOTE_SEP = " ;; "


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def split_of(base_text: str) -> str:
    """``dev`` or ``train`` for a base queue (its text with messages joined by ``"\\n"``)."""
    return "dev" if int(_sha(base_text), 16) % DEV_MODULUS == 0 else "train"


def read_base(base_dir: Path = BASE_DIR) -> pd.DataFrame:
    """The hand-written base queues: ``base_id, text, intent, note`` (one row per line)."""
    rows = []
    for intent in INTENT_ORDER:
        path = base_dir / f"{intent}.txt"
        theme = ""
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            line = line.strip()
            if not line:
                continue
            if line.startswith("#"):
                if line.startswith("# ---"):
                    theme = line.removeprefix("# ---").strip()
                continue
            body, _, note = line.partition(NOTE_SEP)
            messages = [m.strip() for m in body.split(MESSAGE_SEP) if m.strip()]
            if not messages:
                raise ValueError(f"{path}:{number}: empty queue")
            text = "\n".join(messages)
            rows.append({"base_id": f"{intent[0]}{_sha(intent + chr(9) + text)[:9]}", "text": text, "intent": intent,
                         "note": (note.strip() or theme)})
    frame = pd.DataFrame(rows)
    dupes = frame[frame.duplicated("text", keep=False)]
    if len(dupes):
        raise ValueError(f"duplicate base queues: {sorted(set(dupes['text']))[:3]}")
    return frame


# --------------------------------------------------------------------------------------------
# Augmentation: how buyers type the same message
# --------------------------------------------------------------------------------------------

_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "yang": ("yg",), "tidak": ("gak", "ga", "gk", "nggak", "tdk", "ngga"), "gak": ("ga", "gk", "g", "nggak"),
    "ga": ("gak", "gk", "g"), "sudah": ("udah", "sdh", "udh", "dah"), "udah": ("udh", "sdh", "dah"),
    "belum": ("blm", "blom", "belom"), "berapa": ("brp", "brapa"), "harga": ("hrg", "hrga"), "harganya": ("hrgnya", "hrg nya"),
    "kak": ("kk", "ka", "kakak", "kaka", "min", "sis"), "saya": ("sy", "aku", "aq"), "makasih": ("mksh", "makasi", "trims", "thx", "tq"),
    "terima kasih": ("makasih", "trimakasih", "thx"), "transfer": ("tf", "trf"), "pesan": ("psn", "pesen"),
    "barang": ("brg", "brng"), "barangnya": ("brgnya", "brg nya"), "untuk": ("utk", "buat"), "dengan": ("dgn", "dg"),
    "bisa": ("bs", "bsa"), "juga": ("jg",), "tapi": ("tp", "tpi"), "sama": ("sm",), "banget": ("bgt", "bngt"),
    "sekarang": ("skrg",), "kemarin": ("kmrn", "kemaren"), "lagi": ("lg",), "saja": ("aja",), "aja": ("aj",),
    "karena": ("krn", "karna"), "kenapa": ("knp", "knapa"), "gimana": ("gmn", "gmana"), "sampai": ("sampe", "nyampe", "smp"),
    "datang": ("dateng", "dtg"), "kalau": ("kalo", "klo"), "tolong": ("tlg",), "minta": ("mnt",), "rusak": ("rsak", "rsk"),
    "basah": ("bsah",), "pecah": ("pcah",), "salah": ("slh",), "kurang": ("krg",), "lebih": ("lbh",), "pcs": ("pc", "biji"),
    "masih": ("msh", "masi"), "mau": ("mo", "mw"), "bagaimana": ("gimana", "gmn"), "tahu": ("tau",), "order": ("ordr", "order"),
    "ready": ("redy", "rdy"), "stok": ("stock", "stk"), "katalog": ("ktlg",), "ongkir": ("ongkr",), "minimal": ("min",),
    "kecewa": ("kcewa",), "jelek": ("jlek",), "lepas": ("lps",), "telat": ("tlat",), "please": ("pls",), "thanks": ("thx",),
    "sudah transfer": ("udh tf", "sdh tf"), "dikirim": ("dkrm", "dikirim"), "kirim": ("krm",), "nomor": ("no",),
    "rekening": ("rek",), "pesanan": ("pesenan", "psnan"), "tumbler": ("tumblr", "tmblr"), "produksi": ("prod", "produksi"),
    "terus": ("trus", "trs"), "padahal": ("pdhl",), "jadi": ("jd",), "bukan": ("bkn",), "dari": ("dr",),
    "sedikit": ("dikit",), "banyak": ("bnyk",), "besok": ("bsk",), "kok": ("kok", "ko"), "ya": ("y", "yaa", "yah"),
}
_ABBREV_RE = re.compile(r"\b(" + "|".join(sorted((re.escape(k) for k in _ABBREVIATIONS), key=len, reverse=True)) + r")\b",
                        re.IGNORECASE)
_KEYBOARD = {"a": "sq", "s": "ad", "d": "sf", "e": "wr", "r": "et", "t": "ry", "i": "uo", "o": "ip", "u": "yi", "n": "bm",
             "m": "n", "k": "jl", "g": "fh", "h": "gj", "b": "vn", "p": "o", "l": "k"}
_VOWELS = "aiueo"
_EMOJI = ("🙏", "😁", "😊", "🙏🙏", "😅", "👍", "🤔", "😀")
_GREETINGS = ("Halo kak", "P", "Permisi min", "Selamat siang", "Kak", "Assalamualaikum kak", "Sore kak 🙏", "Pagi kak", "Hi",
              "Halo admin", "Gan", "Malam kak, maaf ganggu")
_CLOSINGS = ("makasih kak", "ditunggu ya kak", "🙏", "thx", "tolong dibantu ya kak", "mohon infonya", "trims", "gitu kak")


def _abbreviate(text: str, rng: random.Random) -> str:
    def swap(match: re.Match) -> str:
        word = match.group(0)
        if rng.random() > 0.6:
            return word
        return rng.choice(_ABBREVIATIONS[word.lower()])

    return _ABBREV_RE.sub(swap, text)


def _typo_word(word: str, rng: random.Random) -> str:
    kind = rng.randrange(5)
    inner = [i for i in range(1, len(word) - 1) if word[i].isalpha()]
    if not inner:
        return word
    i = rng.choice(inner)
    if kind == 0:  # dropped vowel: "rusak" -> "rsak"
        vowels = [j for j in inner if word[j].lower() in _VOWELS]
        if vowels:
            j = rng.choice(vowels)
            return word[:j] + word[j + 1:]
        return word[:i] + word[i + 1:]
    if kind == 1:  # swapped neighbours
        return word[:i] + word[i + 1] + word[i] + word[i + 2:] if i + 1 < len(word) else word
    if kind == 2:  # doubled letter
        return word[:i] + word[i] + word[i:]
    if kind == 3:  # dropped letter
        return word[:i] + word[i + 1:]
    near = _KEYBOARD.get(word[i].lower())  # neighbouring key
    return word[:i] + rng.choice(near) + word[i + 1:] if near else word


def _typos(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    for i in rng.sample(candidates, min(len(candidates), rng.choice((1, 1, 2)))):
        words[i] = _typo_word(words[i], rng)
    return " ".join(words)


def _stretch(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if w.isalpha() and w[-1].lower() in _VOWELS + "kth"]
    if not candidates:
        return text
    i = rng.choice(candidates)
    words[i] = words[i] + words[i][-1] * rng.randint(2, 4)
    return " ".join(words)


def _emoji(messages: list[str], rng: random.Random) -> list[str]:
    i = rng.randrange(len(messages))
    messages[i] = messages[i] + " " + rng.choice(_EMOJI)
    return messages


def _plain(text: str, rng: random.Random) -> str:
    text = text.lower()
    text = re.sub(r"[.,!]", "", text)
    if rng.random() < 0.4:
        text = text.replace("?", "")
    return re.sub(r"\s+", " ", text).strip()


def _split(messages: list[str], rng: random.Random) -> list[str]:
    out: list[str] = []
    for message in messages:
        parts = [p.strip() for p in re.split(r"(?<=[.,!?])\s+|\s+(?=tapi\b|tp\b|but\b)", message) if p.strip()]
        if len(parts) > 1 and rng.random() < 0.8:
            out.extend(p.rstrip(",") for p in parts)
        else:
            out.append(message)
    return out


def augment(text: str, seed: str) -> tuple[str, str]:
    """A variant of one base queue and the names of the changes made, chosen by ``seed``."""
    rng = random.Random(int(_sha(seed), 16))
    messages = text.split("\n")
    ops = rng.sample(("abbrev", "typo", "stretch", "emoji", "plain", "split", "merge", "greet", "close"), rng.randint(2, 4))
    if "split" in ops and "merge" in ops:
        ops.remove("merge")
    done = []
    for op in ops:
        before = list(messages)
        if op == "abbrev":
            messages = [_abbreviate(m, rng) for m in messages]
        elif op == "typo":
            messages = [_typos(m, rng) if rng.random() < 0.7 else m for m in messages]
        elif op == "stretch":
            i = rng.randrange(len(messages))
            messages[i] = _stretch(messages[i], rng)
        elif op == "emoji":
            messages = _emoji(messages, rng)
        elif op == "plain":
            messages = [_plain(m, rng) for m in messages]
        elif op == "split":
            messages = _split(messages, rng)
        elif op == "merge" and len(messages) > 1:
            messages = [rng.choice((", ", " ", ". ")).join(messages)]
        elif op == "greet":
            messages = [rng.choice(_GREETINGS), *messages]
        elif op == "close":
            messages = [*messages, rng.choice(_CLOSINGS)]
        messages = [m for m in messages if m.strip()] or before
        if messages != before:
            done.append(op)
    return "\n".join(messages), "+".join(done)


def build_corpus(base: pd.DataFrame | None = None, variants: int = VARIANTS) -> dict[str, pd.DataFrame]:
    """``{"train": frame, "dev": frame}`` with :data:`COLUMNS`: every base queue and its
    ``variants`` augmented copies, all in the split of the base queue."""
    base = read_base() if base is None else base
    rows: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for rec in base.itertuples(index=False):
        split = split_of(rec.text)
        rows[split].append({"queue_id": f"{rec.base_id}-0", "text": rec.text, "intent": rec.intent, "note": rec.note})
        seen = {rec.text}
        for v in range(1, variants + 1):
            for attempt in range(5):
                text, ops = augment(rec.text, f"{rec.base_id}/{v}/{attempt}")
                if text not in seen:
                    break
            if text in seen:
                continue
            seen.add(text)
            rows[split].append({"queue_id": f"{rec.base_id}-{v}", "text": text, "intent": rec.intent,
                                "note": f"variant of {rec.base_id}-0 ({ops})"})
    return {s: pd.DataFrame(rows[s], columns=list(COLUMNS)).sort_values("queue_id", kind="stable").reset_index(drop=True)
            for s in SPLITS}


def _csv_text(frame: pd.DataFrame) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(COLUMNS)
    writer.writerows(frame[list(COLUMNS)].itertuples(index=False, name=None))
    return buffer.getvalue()


def write_corpus(corpus: dict[str, pd.DataFrame], directory: Path = CORPUS_DIR) -> None:
    for split, frame in corpus.items():
        (directory / f"{split}.csv").write_text(_csv_text(frame), encoding="utf-8")


MIN_WORD_COUNT = 2


def known_words_text(base: pd.DataFrame | None = None) -> str:
    """The normaliser's known-word list (``data/intent_words.txt``): every word of the
    hand-written base queues (normalised without spelling correction) seen at least
    :data:`MIN_WORD_COUNT` times, ``word<TAB>count``, most frequent first. Variants are not
    read: their typos must not become known words. Only ``train`` base queues are read: the
    spelling corrector is part of the model, and a dev queue's words must not make the dev
    split's own typos correctable (docs/DECISIONS.md, issue 14)."""
    base = read_base() if base is None else base
    counts: dict[str, int] = {}
    for text in base["text"]:
        if split_of(text) != "train":
            continue
        for token in normalise(text, correct=False).split():
            word = token.removeprefix(NEG)
            if word.isalpha() and not word.startswith("x"):
                counts[word] = counts.get(word, 0) + 1
    rows = sorted(((w, c) for w, c in counts.items() if c >= MIN_WORD_COUNT), key=lambda wc: (-wc[1], wc[0]))
    return "".join(f"{w}\t{c}\n" for w, c in rows)


def load_corpus(split: str, directory: Path = CORPUS_DIR) -> pd.DataFrame:
    """The shipped ``train`` or ``dev`` split (:data:`COLUMNS`, all strings)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} (allowed: {', '.join(SPLITS)})")
    return pd.read_csv(directory / f"{split}.csv", dtype=str, keep_default_na=False)


def corpus_sha256(directory: Path = CORPUS_DIR) -> str:
    """SHA-256 over the shipped split files (the model records which corpus it learnt from)."""
    digest = hashlib.sha256()
    for split in SPLITS:
        digest.update((directory / f"{split}.csv").read_bytes())
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kpi_transforms.facts.intent_corpus", description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--build", action="store_true", help="rewrite train.csv, dev.csv and intent_words.txt from base/")
    group.add_argument("--check", action="store_true", help="exit 1 when the shipped files differ from a fresh build")
    args = parser.parse_args(argv)
    corpus = build_corpus()
    words = known_words_text()
    if args.build:
        write_corpus(corpus)
        WORDS_FILE.write_text(words, encoding="utf-8")
    else:
        stale = [s for s in SPLITS if (CORPUS_DIR / f"{s}.csv").read_text(encoding="utf-8") != _csv_text(corpus[s])]
        if not WORDS_FILE.is_file() or WORDS_FILE.read_text(encoding="utf-8") != words:
            stale.append(WORDS_FILE.name)
        if stale:
            print(f"intent corpus: {', '.join(stale)} differ from base/ (run --build)", file=sys.stderr)
            return 1
    for split in SPLITS:
        frame = corpus[split]
        counts = frame["intent"].value_counts().reindex(INTENT_ORDER, fill_value=0)
        bases = int(frame["queue_id"].str.endswith("-0").sum())
        print(f"{split}: {len(frame)} queues from {bases} base queues; " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
