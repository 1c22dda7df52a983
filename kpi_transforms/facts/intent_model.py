"""The intent of a customer queue from a linear text model plus precise keyword overrides
(SPEC 7; the rule is written once in docs/DECISIONS.md, "Intent classification").

Grain of :meth:`IntentModel.classify`: one row per queue text (all customer messages of the
queue joined by ``"\\n"``) with ``intent`` (complaint | quote_request | order | other),
``confidence`` (the model's calibrated probability of that intent, 0..1; below
:data:`REVIEW_BELOW` the queue is for review), ``source`` (``rule`` when a keyword override
or the negation guard decided, else ``model``) and ``rule`` (its name, or None). Manual
labels are not applied here: they win later, in the fact build.

Training (:func:`train`) needs scikit-learn and is imported lazily; everything else -
normalising, features, TF-IDF, the linear scores, the softmax, the overrides - runs on NumPy
from the plain form of :class:`IntentModel` (vocabulary, idf, coefficients, intercepts,
classes, temperature, metadata), which :meth:`IntentModel.to_bytes` / :meth:`to_json` store
without pickle. ``python -m kpi_transforms.facts.intent_model --evaluate`` trains on the
shipped train split and prints the per-class report on the dev split, which is never trained on.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import re
import struct
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kpi_transforms.facts import intent_corpus
from kpi_transforms.facts.intent_text import (
    BREAK,
    CLAUSE,
    CONCEPTS,
    NEG,
    NORMALISER_VERSION,
    QMARK,
    QTAG,
    char_ngrams,
    features,
    normalise_many,
    word_features,
    words_sha256,
)

CLASSES = ("complaint", "quote_request", "order", "other")  # priority order: the first wins a tie
FORMAT = "chatkpi.intent_model"
FORMAT_VERSION = 1
FEATURES_VERSION = "1"  # intent_text.features: w: b: q: k: kn: kq: f: and c: / n: character 3- to 5-grams
RULES_VERSION = "1"
# Hyper-parameters, chosen once by grouped 5-fold cross-validation on the train split
# (docs/DECISIONS.md): inverse regularisation of the logistic regression, minimum number of
# training queues a feature must occur in, weight of the character n-gram block against the
# word block, weight of an installation's own labelled row.
C = 20.0
MIN_DF = 2
CHAR_WEIGHT = 0.3  # the character n-gram block's share (each block is l2-normalised on its own)
EXTRA_WEIGHT = 3.0
# The model proposes `complaint` only when its complaint score beats every other score by this
# much (on the logit scale): the smallest margin, in steps of 0.25, at which the grouped 5-fold
# cross-validated complaint precision on the train split reaches the 95 % (a false
# complaint costs more than a missed one; docs/DECISIONS.md "Issue 14, item 1, round 3").
COMPLAINT_MARGIN = 0.25
CV_FOLDS = 5
SEED = 0
REVIEW_BELOW = 0.6  # a queue whose confidence is below this is listed for review
# The pre-trained model that ships in the package (the fact build never trains): the bytes of
# train() with the defaults on the shipped train split, rewritten by
# ``python -m kpi_transforms.facts.intent_model --bundle``; a test checks that a rebuild gives
# the same bytes.
BUNDLED_MODEL = Path(__file__).resolve().parent.parent / "data" / "intent_model.ckim"

# --------------------------------------------------------------------------------------------
# Keyword overrides: precise phrases, read per clause of the normalised text
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Rule:
    """An explainable override: ``intent`` when ``pattern`` matches a clause of the normalised
    queue (a word under a negation is ``neg_<word>`` there and so never matches) that holds
    none of the ``blockers`` words, and the queue holds none of the ``settled`` patterns."""

    name: str
    intent: str
    pattern: str
    blockers: frozenset[str] = frozenset()
    settled: tuple[str, ...] = ()


# A damage / defect word, said of goods, in a plain statement. Blocked in a clause that asks
# ("?", a question tag), supposes ("kalau", "nanti", "takut", "misal"), speaks of the product's
# properties ("tahan", "gampang", "aman", "garansi") or reports an old, settled event
# ("sempat", "ternyata").
_HYPOTHETICAL = frozenset({QMARK, QTAG, "kalau", "apakah", "takut", "nanti", "misal", "misalnya", "garansi", "tahan",
                           "gampang", "mudah", "cepat", "aman", "jangan", "semoga", "biar", "supaya", "agar", "bila",
                           "sempat", "ternyata", "khawatir", "kuatir", "seandainya", "andai", "apabila", "bukan",
                           "if", "whether", "does", "will", "would", "can", "could", "salah_lihat"})
_SETTLED = (r"\bsudah (?:diganti|beres|selesai|masuk|ditukar|dikirim ulang|terselesaikan|teratasi|aman)\b",
            r"\bpengganti (?:\w+ ){0,4}sudah\b", r"\b(?:replacement|refund)\w* (?:arrived|received)\b",
            r"\bsalah lihat\b", r"\bterima_kasih atas penanganan", r"\b(?:aman semua|semua aman|barang nya aman)\b",
            r"\b(?:saya kira|kirain|dikira|saya salah (?:lihat|hitung))\b")
_DAMAGE = (r"(?:rusak|pecah|retak|penyok|sobek|bocor|patah|cacat|karatan|ngelupas|mengelupas|jamuran|bolong|lecet|gosong|"
           r"copot|putus|lepas|luntur|damaged|broken|defective|cracked|leaking|dents?)")
_PAST_GOODS = (r"(?:yang kemarin|pesanan (?:kemarin|sebelumnya|lalu)|kiriman kemarin|yang (?:dikirim|datang|sampai|diterima)|"
               r"last (?:shipment|order|delivery))")
RULES: tuple[Rule, ...] = (
    Rule("damaged_goods", "complaint", rf"\b{_DAMAGE}\b(?! xqtag)", _HYPOTHETICAL, _SETTLED),
    Rule("damaged_delivered_goods", "complaint", rf"\b{_PAST_GOODS}\b.*\b{_DAMAGE}\b(?! xqtag)",
         frozenset({"kalau", "takut", "misal", "misalnya", "seandainya", "sempat", "jangan", "khawatir", "if"}), _SETTLED),
    Rule("wrong_item", "complaint",
         r"\b(?:salah (?:cetak|warna|ukuran|ketik|barang|nama|logo|desain|size|model)|salah kirim (?:barang|warna|ukuran)|"
         r"tidak neg_sesuai (?:pesanan|deskripsi|foto|sampel|contoh|proof|mockup|gambar|katalog)|"
         r"wrong (?:item|logo|colou?r|size)|ketukar|kebalik|misprinted)\b",
         _HYPOTHETICAL, _SETTLED),
    Rule("short_quantity", "complaint",
         r"\b(?:kurang xnum (?:pcs|dus|koli|lusin|set|paket|box)|cuma (?:datang|dikirim|sampai|ada) xnum|"
         r"xnum (?:pcs )?(?:missing|short)|only received xnum)\b",
         _HYPOTHETICAL, _SETTLED),
    Rule("dissatisfied", "complaint",
         r"\b(?:kecewa|mengecewakan|tidak neg_puas|disappointed|unacceptable|mau komplain|ajukan komplain|"
         r"komplain ya|tanggung jawab(?:nya)?)\b",
         _HYPOTHETICAL - {"bukan"}, _SETTLED),
    Rule("refund_or_return", "complaint",
         r"\b(?:minta refund|mau refund|tolong refund|refund (?:aja|saja|please)|mau retur|minta retur|ajukan (?:retur|pengembalian)|"
         r"minta (?:uang|dana) kembali|please (?:replace|refund))\b",
         _HYPOTHETICAL, _SETTLED),
)
_RULE_RES = tuple((rule, re.compile(rule.pattern), tuple(re.compile(s) for s in rule.settled)) for rule in RULES)
_CLAUSE_SPLIT = re.compile(rf" (?:{BREAK}|{CLAUSE}) |(?<= {QMARK}) ")


def rule_hits(normalised: Sequence[str]) -> list[tuple[str, ...]]:
    """Per normalised queue: the names of the overrides that fire, in :data:`RULES` order."""
    out: list[tuple[str, ...]] = []
    for text in normalised:
        hits = []
        clauses: list[tuple[str, set[str]]] | None = None
        for rule, pattern, settled in _RULE_RES:
            if not pattern.search(text) or any(s.search(text) for s in settled):  # most queues stop here
                continue
            if clauses is None:
                clauses = [(c, set(c.split())) for c in _CLAUSE_SPLIT.split(text)]
            if any(pattern.search(c) and not (words & rule.blockers) for c, words in clauses):
                hits.append(rule.name)
        out.append(tuple(hits))
    return out


_RULE_INTENT = {rule.name: rule.intent for rule in RULES}

# The negation guard: a complaint needs a problem that is said, not denied. When the model's
# complaint rests on a queue whose every problem word is negated ("gak bocor kok", "tidak ada
# yang rusak") - no problem word stands un-negated, no good word is negated ("tidak sesuai",
# "gak rapat"), no missed promise - the model's best other intent is taken instead.
NEGATION_GUARD = "negated_problem_only"
_PROBLEM_CONCEPTS = frozenset({"damage", "wrong", "short", "late", "upset", "remedy", "billing"})


def negation_guard(normalised: Sequence[str]) -> np.ndarray:
    """Bool per normalised queue: every problem word in it is negated (see :data:`NEGATION_GUARD`)."""
    out = np.zeros(len(normalised), dtype=bool)
    for i, text in enumerate(normalised):
        denied = False
        for token in text.split():
            negated = token.startswith(NEG)
            concept = CONCEPTS.get(token[len(NEG):] if negated else token)
            if negated and concept in _PROBLEM_CONCEPTS:
                denied = True
            elif (not negated and (concept in _PROBLEM_CONCEPTS or token == "kurang")) or (negated and concept == "fine"):
                denied = False
                break
        out[i] = denied and "f:promise_not_yet" not in features(text)
    return out

# --------------------------------------------------------------------------------------------
# The model in its plain form
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class IntentModel:
    """A trained intent model in plain form: ``vocabulary[j]`` is feature j, ``idf[j]`` its
    inverse document frequency, ``coef[k, j]`` its weight for ``classes[k]``, ``intercept[k]``
    the bias of class k, ``temperature`` the softmax temperature fitted on out-of-fold scores;
    ``meta`` records versions, hyper-parameters, the corpus hash and the dev scores."""

    classes: tuple[str, ...]
    vocabulary: tuple[str, ...]
    idf: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    temperature: float
    meta: Mapping[str, Any]

    def __post_init__(self) -> None:
        n_classes, n_features = len(self.classes), len(self.vocabulary)
        if tuple(self.classes) != CLASSES:
            raise ValueError(f"intent model: classes {self.classes} (expected {CLASSES})")
        if self.idf.shape != (n_features,) or self.coef.shape != (n_classes, n_features) or self.intercept.shape != (n_classes,):
            raise ValueError("intent model: array shapes do not match the vocabulary and classes")
        if not (self.temperature > 0 and math.isfinite(self.temperature)):
            raise ValueError(f"intent model: temperature {self.temperature} is not a positive number")
        if (self.meta.get("normaliser_version"), self.meta.get("features_version"), self.meta.get("words_sha256")) != (
                NORMALISER_VERSION, FEATURES_VERSION, words_sha256()):
            raise ValueError(f"intent model: built for normaliser {self.meta.get('normaliser_version')!r} / features "
                             f"{self.meta.get('features_version')!r} / known words {str(self.meta.get('words_sha256'))[:12]!r}, "
                             f"this code has {NORMALISER_VERSION!r} / {FEATURES_VERSION!r} / {words_sha256()[:12]!r}: retrain it")
        object.__setattr__(self, "_index", {f: j for j, f in enumerate(self.vocabulary)})
        object.__setattr__(self, "_is_char", np.array([is_char_feature(f) for f in self.vocabulary], dtype=np.int64))
        object.__setattr__(self, "_spelled_ids", {})

    # -- inference (NumPy only) ----------------------------------------------------------------

    def _tfidf(self, normalised: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, column, value) of the design matrix: sublinear TF-IDF over the vocabulary
        (sklearn's ``TfidfVectorizer(sublinear_tf=True, norm=None)``), then the word block and
        the character block each l2-normalised per row, the character block times
        ``meta["params"]["char_weight"]`` (:func:`design_matrix` on the training side)."""
        index: dict[str, int] = self._index  # type: ignore[attr-defined]
        spelled_ids: dict[str, list[int]] = self._spelled_ids  # type: ignore[attr-defined]
        done: dict[str, tuple[list[int], list[int]]] = {}  # a text seen before in this call
        rows: list[np.ndarray] = []
        cols: list[list[int]] = []
        counts: list[list[int]] = []
        for i, text in enumerate(normalised):
            known = done.get(text)
            if known is None:
                words, spelled = word_features(text)
                ids = [j for j in map(index.get, words) if j is not None]
                for item in spelled:
                    grams = spelled_ids.get(item)
                    if grams is None:  # the character n-grams of a word are looked up once
                        grams = spelled_ids[item] = [j for j in map(index.get, char_ngrams(item)) if j is not None]
                    ids.extend(grams)
                tally = Counter(ids)
                known = done[text] = (list(tally.keys()), list(tally.values()))
            cols.append(known[0])
            counts.append(known[1])
            rows.append(np.full(len(known[0]), i, dtype=np.int64))
        row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        col = np.fromiter((j for c in cols for j in c), dtype=np.int64)
        count = np.fromiter((k for c in counts for k in c), dtype=np.float64)
        value = (1.0 + np.log(count)) * self.idf[col]
        is_char = self._is_char[col]  # type: ignore[attr-defined]
        n = len(normalised)
        block = row * 2 + is_char
        norm = np.sqrt(np.bincount(block, weights=value * value, minlength=2 * n))
        value = value / norm[block] * np.where(is_char, float(self.meta["params"]["char_weight"]), 1.0)
        return row, col, value

    def logits(self, texts: Iterable[Any], *, normalised: bool = False) -> np.ndarray:
        """Linear scores (n × classes) before the softmax: what sklearn's ``decision_function`` gives."""
        norm = list(texts) if normalised else list(normalise_many(texts))
        row, col, value = self._tfidf(norm)
        out = np.empty((len(norm), len(self.classes)), dtype=np.float64)
        for k in range(len(self.classes)):
            out[:, k] = np.bincount(row, weights=value * self.coef[k, col], minlength=len(norm)) + self.intercept[k]
        return out

    def predict_proba(self, texts: Iterable[Any], *, normalised: bool = False, calibrated: bool = True) -> np.ndarray:
        """Class probabilities (n × classes): the softmax of the logits divided by the
        temperature (``calibrated=False``: temperature 1, i.e. sklearn's ``predict_proba``)."""
        return _softmax(self.logits(texts, normalised=normalised) / (self.temperature if calibrated else 1.0))

    def classify(self, texts: Iterable[Any]) -> pd.DataFrame:
        """One row per text: ``intent``, ``confidence``, ``source``, ``rule`` (see the module doc).

        The model proposes its most probable intent (`complaint` only by a margin of
        ``params.complaint_margin`` on the logit scale); every override that fires proposes its
        own; the proposal first in the priority order complaint > quote_request > order >
        other wins. A complaint the model alone proposed gives way to the model's next intent
        when every problem word of the queue is negated (:func:`negation_guard`).
        ``confidence`` is the calibrated probability of the winning intent."""
        norm = list(normalise_many(texts))
        logits = self.logits(norm, normalised=True)
        proba = _softmax(logits / self.temperature)
        margin = float(self.meta.get("params", {}).get("complaint_margin", 0.0))
        model_code = np.argmax(logits - np.array([margin] + [0.0] * (len(self.classes) - 1)), axis=1)  # ties: the first
        hits = rule_hits(norm)
        code = model_code.copy()
        rule_name: list[str | None] = [None] * len(norm)
        for i, names in enumerate(hits):
            for name in names:
                k = CLASSES.index(_RULE_INTENT[name])
                if k <= code[i]:
                    code[i] = k
                    if rule_name[i] is None or CLASSES.index(_RULE_INTENT[rule_name[i]]) > k:
                        rule_name[i] = name
        guarded = (code == 0) & np.array([r is None for r in rule_name], dtype=bool) & negation_guard(norm)
        for i in np.flatnonzero(guarded):
            code[i] = 1 + int(np.argmax(proba[i, 1:]))
            rule_name[i] = NEGATION_GUARD
        confidence = proba[np.arange(len(norm)), code] if len(norm) else np.zeros(0)
        return pd.DataFrame(
            {
                "intent": pd.array(np.array(CLASSES, dtype=object)[code], dtype="string"),
                "confidence": confidence,
                "source": pd.array(np.where([r is not None for r in rule_name], "rule", "model") if len(norm) else [], dtype="string"),
                "rule": pd.array(rule_name, dtype="string"),
            }
        )

    def predict(self, texts: Iterable[Any]) -> np.ndarray:
        """The intent of each text (:meth:`classify`'s ``intent`` as a NumPy array)."""
        return self.classify(texts)["intent"].to_numpy(dtype=object)

    # -- identity and storage (no pickle) ------------------------------------------------------

    @property
    def version(self) -> str:
        """First 16 hex digits of the SHA-256 of :meth:`to_bytes`: the model's identity."""
        return hashlib.sha256(self.to_bytes()).hexdigest()[:16]

    def _header(self) -> dict[str, Any]:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "classes": list(self.classes),
                "temperature": self.temperature, "meta": dict(self.meta)}

    def to_json(self) -> str:
        """The model as one JSON document (floats written exactly, as Python's repr)."""
        doc = self._header() | {"vocabulary": list(self.vocabulary), "idf": self.idf.tolist(),
                                "coef": self.coef.tolist(), "intercept": self.intercept.tolist()}
        return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> IntentModel:
        doc = json.loads(text)
        _check_header(doc)
        return cls(classes=tuple(doc["classes"]), vocabulary=tuple(doc["vocabulary"]),
                   idf=np.asarray(doc["idf"], dtype=np.float64), coef=np.asarray(doc["coef"], dtype=np.float64).reshape(len(doc["classes"]), -1),
                   intercept=np.asarray(doc["intercept"], dtype=np.float64), temperature=float(doc["temperature"]), meta=doc["meta"])

    def to_bytes(self) -> bytes:
        """The model as compact bytes: ``CKIM`` + a JSON header (with the array lengths) + the
        UTF-8 vocabulary (one feature a line) + float64 little-endian idf, coef, intercept;
        zlib-compressed. Deterministic: the same model gives the same bytes."""
        vocab = "\n".join(self.vocabulary).encode("utf-8")
        arrays = [np.ascontiguousarray(a, dtype="<f8").tobytes() for a in (self.idf, self.coef, self.intercept)]
        header = self._header() | {"n_features": len(self.vocabulary), "vocabulary_bytes": len(vocab)}
        head = json.dumps(header, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
        body = b"".join([_MAGIC, struct.pack("<Q", len(head)), head, vocab, *arrays])
        return zlib.compress(body, 9)

    @classmethod
    def from_bytes(cls, blob: bytes) -> IntentModel:
        """Inverse of :meth:`to_bytes`; rejects anything that is not exactly such a blob."""
        try:
            body = zlib.decompress(blob)
        except zlib.error as exc:
            raise ValueError(f"intent model: not a model blob ({exc})") from exc
        if body[:4] != _MAGIC or len(body) < 12:
            raise ValueError("intent model: not a model blob (bad magic)")
        (head_len,) = struct.unpack("<Q", body[4:12])
        header = json.loads(body[12:12 + head_len])
        _check_header(header)
        n_classes, n_features = len(header["classes"]), int(header["n_features"])
        at = 12 + head_len
        vocab_end = at + int(header["vocabulary_bytes"])
        vocabulary = tuple(body[at:vocab_end].decode("utf-8").split("\n")) if n_features else ()
        sizes = (n_features, n_classes * n_features, n_classes)
        if len(vocabulary) != n_features or len(body) != vocab_end + 8 * sum(sizes):
            raise ValueError("intent model: truncated or padded blob")
        arrays, at = [], vocab_end
        for size in sizes:
            arrays.append(np.frombuffer(body, dtype="<f8", count=size, offset=at).astype(np.float64))
            at += 8 * size
        return cls(classes=tuple(header["classes"]), vocabulary=vocabulary, idf=arrays[0],
                   coef=arrays[1].reshape(n_classes, n_features), intercept=arrays[2],
                   temperature=float(header["temperature"]), meta=header["meta"])


_MAGIC = b"CKIM"


@functools.lru_cache(maxsize=4)
def model_from_bytes(blob: bytes) -> IntentModel:
    """:meth:`IntentModel.from_bytes`, cached: a fact build per ingest loads the same model once
    per process (a few hundred milliseconds otherwise)."""
    return IntentModel.from_bytes(blob)


def bundled_model() -> IntentModel:
    """The pre-trained model shipped in the package (:data:`BUNDLED_MODEL`)."""
    return model_from_bytes(BUNDLED_MODEL.read_bytes())


def _check_header(doc: Mapping[str, Any]) -> None:
    if doc.get("format") != FORMAT or doc.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"intent model: format {doc.get('format')!r} version {doc.get('format_version')!r} "
                         f"(expected {FORMAT!r} version {FORMAT_VERSION})")


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True) if len(z) else z
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True) if len(z) else e


# --------------------------------------------------------------------------------------------
# Training (scikit-learn, imported here only)
# --------------------------------------------------------------------------------------------


def _labelled(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """``frame``'s (text, intent) rows with a known intent and a non-empty text; others raise."""
    missing = {"text", "intent"} - set(frame.columns)
    if missing:
        raise ValueError(f"{where}: missing column(s) {sorted(missing)}")
    out = pd.DataFrame({"text": frame["text"].astype(object).where(frame["text"].notna(), "").astype(str),
                        "intent": frame["intent"].astype(object).where(frame["intent"].notna(), "").astype(str).str.strip().str.lower()})
    bad = ~out["intent"].isin(CLASSES)
    if bad.any():
        raise ValueError(f"{where}: unknown intent(s) {sorted(set(out.loc[bad, 'intent']))[:5]} (allowed: {', '.join(CLASSES)})")
    return out[out["text"].str.strip() != ""].reset_index(drop=True)


def is_char_feature(feature: str) -> bool:
    """True for a character n-gram (``c:`` / ``n:``), the block weighed by ``char_weight``."""
    return feature.startswith(("c:", "n:"))


def design_matrix(counts: Any, vocabulary: Sequence[str], char_weight: float | None = None) -> Any:
    """The model's input from sklearn's un-normalised TF-IDF (a SciPy CSR matrix): the word
    block and the character block l2-normalised per row each, the character block times
    ``char_weight``. (Training side; :meth:`IntentModel._tfidf` computes the same in NumPy.)"""
    import scipy.sparse as sp

    char_weight = CHAR_WEIGHT if char_weight is None else char_weight
    is_char = np.array([is_char_feature(f) for f in vocabulary], dtype=bool)
    x = sp.csr_matrix(counts, dtype=np.float64, copy=True)
    for mask, weight in ((~is_char, 1.0), (is_char, char_weight)):
        block = x.multiply(mask[np.newaxis, :].astype(np.float64)).tocsr()
        norm = np.sqrt(np.asarray(block.multiply(block).sum(axis=1)).ravel())
        scale = np.divide(weight, norm, out=np.zeros_like(norm), where=norm > 0)
        x = x - block + sp.diags(scale) @ block
    return sp.csr_matrix(x)


def _fit(normalised: Sequence[str], y: np.ndarray, weight: np.ndarray, c: float) -> tuple[Any, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer=features, min_df=MIN_DF, sublinear_tf=True, norm=None, smooth_idf=True, dtype=np.float64)
    vocabulary = vectorizer.fit(normalised).get_feature_names_out().tolist()
    x = design_matrix(vectorizer.transform(normalised), vocabulary)
    model = LogisticRegression(C=c, max_iter=5000, tol=1e-6, random_state=SEED)
    model.fit(x, y, sample_weight=weight)
    return vectorizer, model


def sklearn_logits(vectorizer: Any, model: Any, normalised: Sequence[str]) -> np.ndarray:
    """scikit-learn's ``decision_function`` on normalised texts (for tests and cross-validation)."""
    return model.decision_function(design_matrix(vectorizer.transform(list(normalised)), vectorizer.get_feature_names_out().tolist()))


def _fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature T minimising the log loss of softmax(logits / T) (golden-section search
    on log T): one number, so the ranking of classes never changes."""
    def loss(log_t: float) -> float:
        p = _softmax(logits / math.exp(log_t))
        return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None))))

    lo, hi = math.log(0.05), math.log(20.0)
    golden = (math.sqrt(5) - 1) / 2
    a, b = hi - golden * (hi - lo), lo + golden * (hi - lo)
    fa, fb = loss(a), loss(b)
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - golden * (hi - lo)
            fa = loss(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + golden * (hi - lo)
            fb = loss(b)
    return round(math.exp((lo + hi) / 2), 6)


def out_of_fold_logits(normalised: Sequence[str], y: np.ndarray, weight: np.ndarray, groups: np.ndarray, c: float = C,
                       folds: int = CV_FOLDS) -> np.ndarray:
    """Logits of each training row from a model that did not see its group (grouped k-fold:
    a base queue and its variants are one group)."""
    from sklearn.model_selection import GroupKFold

    normalised = np.asarray(normalised, dtype=object)
    out = np.zeros((len(y), len(CLASSES)))
    for fit_rows, held_rows in GroupKFold(n_splits=folds).split(normalised, y, groups):
        vectorizer, model = _fit(list(normalised[fit_rows]), y[fit_rows], weight[fit_rows], c)
        out[held_rows] = sklearn_logits(vectorizer, model, normalised[held_rows])
    return out


def train(extra: pd.DataFrame | None = None, *, train_frame: pd.DataFrame | None = None, dev_frame: pd.DataFrame | None = None,
          c: float = C, calibrate: bool = True) -> IntentModel:
    """Train on the shipped train split (or ``train_frame``) plus ``extra`` (the installation's
    own labels: a frame of ``text, intent``, e.g. manual labels and intents confirmed in the
    audit review sheet; each row weighs :data:`EXTRA_WEIGHT`), and score the result on the dev
    split (or ``dev_frame``), which is never trained on. Deterministic."""
    return train_with_sklearn(extra, train_frame=train_frame, dev_frame=dev_frame, c=c, calibrate=calibrate)[0]


def train_with_sklearn(extra: pd.DataFrame | None = None, *, train_frame: pd.DataFrame | None = None,
                       dev_frame: pd.DataFrame | None = None, c: float = C, calibrate: bool = True) -> tuple[IntentModel, Any, Any]:
    """:func:`train`, also returning the fitted scikit-learn vectorizer and classifier (the
    tests compare the NumPy inference with them)."""
    import sklearn
    from threadpoolctl import threadpool_limits

    train_rows = intent_corpus.load_corpus("train") if train_frame is None else train_frame
    dev_rows = intent_corpus.load_corpus("dev") if dev_frame is None else dev_frame
    base = _labelled(train_rows, "train split")
    groups = (train_rows["queue_id"].astype(str).str.rsplit("-", n=1).str[0].to_numpy(dtype=object)
              if "queue_id" in train_rows.columns and len(base) == len(train_rows) else np.arange(len(base)).astype(str).astype(object))
    extra_rows = _labelled(extra, "extra labels") if extra is not None and len(extra) else pd.DataFrame({"text": [], "intent": []})
    extra_rows = extra_rows.drop_duplicates(keep="last").reset_index(drop=True)
    texts = pd.concat([base["text"], extra_rows["text"]], ignore_index=True)
    normalised = list(normalise_many(texts))
    y = np.array([CLASSES.index(i) for i in pd.concat([base["intent"], extra_rows["intent"]], ignore_index=True)], dtype=np.int64)
    weight = np.concatenate([np.ones(len(base)), np.full(len(extra_rows), EXTRA_WEIGHT)])
    all_groups = np.concatenate([groups, np.array([f"extra-{i}" for i in range(len(extra_rows))], dtype=object)])

    # One BLAS thread: the same result on any machine, and no oversubscription of 2 shared cores
    # (8 threads made a 0.5 s fit take 10 s here).
    with threadpool_limits(limits=1):
        temperature = 1.0
        if calibrate:
            temperature = _fit_temperature(out_of_fold_logits(normalised, y, weight, all_groups, c), y)
        vectorizer, model = _fit(normalised, y, weight, c)
    vocabulary = tuple(vectorizer.get_feature_names_out().tolist())
    extra_sha = hashlib.sha256(extra_rows.to_csv(index=False).encode("utf-8")).hexdigest() if len(extra_rows) else None
    meta = {
        "normaliser_version": NORMALISER_VERSION, "features_version": FEATURES_VERSION, "rules_version": RULES_VERSION,
        "words_sha256": words_sha256(),
        "corpus_sha256": intent_corpus.corpus_sha256() if train_frame is None and dev_frame is None else _frames_sha(train_rows, dev_rows),
        "extra_sha256": extra_sha, "n_train": int(len(base)), "n_extra": int(len(extra_rows)),
        "params": {"C": c, "min_df": MIN_DF, "char_weight": CHAR_WEIGHT, "extra_weight": EXTRA_WEIGHT, "complaint_margin": COMPLAINT_MARGIN, "sublinear_tf": True,
                   "char_ngrams": [3, 5], "word_ngrams": [1, 2], "solver": "lbfgs", "seed": SEED},
        "trained_with": f"scikit-learn {sklearn.__version__}",
    }
    fitted = IntentModel(classes=CLASSES, vocabulary=vocabulary, idf=vectorizer.idf_.astype(np.float64),
                         coef=model.coef_.astype(np.float64), intercept=model.intercept_.astype(np.float64),
                         temperature=temperature, meta=meta)
    scores = evaluate(fitted, dev_rows)
    return dataclasses.replace(fitted, meta=meta | {"dev_scores": scores}), vectorizer, model


def _frames_sha(*frames: pd.DataFrame) -> str:
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(frame.to_csv(index=False).encode("utf-8"))
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


def scores(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Accuracy, per-class precision / recall / F1 / support and the confusion matrix
    (rows: truth, columns: predicted, both in :data:`CLASSES` order)."""
    t = np.array([CLASSES.index(v) for v in truth], dtype=np.int64)
    p = np.array([CLASSES.index(v) for v in predicted], dtype=np.int64)
    k = len(CLASSES)
    confusion = np.bincount(t * k + p, minlength=k * k).reshape(k, k)
    per_class = {}
    for i, name in enumerate(CLASSES):
        tp = int(confusion[i, i])
        predicted_i, actual_i = int(confusion[:, i].sum()), int(confusion[i, :].sum())
        precision = tp / predicted_i if predicted_i else 0.0
        recall = tp / actual_i if actual_i else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "support": actual_i}
    return {"n": int(len(t)), "accuracy": round(float(np.trace(confusion)) / len(t), 4) if len(t) else 0.0,
            "per_class": per_class, "confusion": confusion.tolist()}


def evaluate(model: IntentModel, frame: pd.DataFrame) -> dict[str, Any]:
    """:func:`scores` of ``model`` on a labelled frame (``text, intent``; e.g. the dev split),
    for all rows and, where ``queue_id`` marks them (suffix ``-0``), for the hand-written base
    queues alone; plus the share decided by an override and the share below :data:`REVIEW_BELOW`."""
    rows = _labelled(frame, "evaluation frame")
    result = model.classify(rows["text"])
    out = scores(rows["intent"].tolist(), result["intent"].tolist())
    out["rule_share"] = round(float((result["source"] == "rule").mean()), 4) if len(result) else 0.0
    out["review_share"] = round(float((result["confidence"] < REVIEW_BELOW).mean()), 4) if len(result) else 0.0
    if "queue_id" in frame.columns and len(rows) == len(frame):
        is_base = frame["queue_id"].astype(str).str.endswith("-0").to_numpy()
        if is_base.any() and not is_base.all():
            out["base_only"] = scores(rows["intent"][is_base].tolist(), result["intent"][is_base].tolist())
    return out


def format_report(result: Mapping[str, Any], title: str = "dev split") -> str:
    """A plain-text table of :func:`evaluate`'s result."""
    lines = [f"{title}: {result['n']} queues, accuracy {100 * result['accuracy']:.1f} %",
             f"{'intent':<14}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}"]
    for name, s in result["per_class"].items():
        lines.append(f"{name:<14}{100 * s['precision']:>9.1f}%{100 * s['recall']:>7.1f}%{100 * s['f1']:>7.1f}%{s['support']:>9}")
    lines.append("confusion (rows truth, columns predicted; " + ", ".join(CLASSES) + "):")
    lines.extend("  " + " ".join(f"{v:>5}" for v in row) for row in result["confusion"])
    if "base_only" in result:
        b = result["base_only"]
        lines.append(f"hand-written base queues only: {b['n']}, accuracy {100 * b['accuracy']:.1f} %, complaint precision "
                     f"{100 * b['per_class']['complaint']['precision']:.1f} %")
    if "rule_share" in result:
        lines.append(f"decided by an override: {100 * result['rule_share']:.1f} %; below confidence {REVIEW_BELOW}: "
                     f"{100 * result['review_share']:.1f} %")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse
    import time

    parser = argparse.ArgumentParser(prog="python -m kpi_transforms.facts.intent_model",
                                     description="Train the intent model on the shipped corpus and report on the dev split.")
    parser.add_argument("--evaluate", action="store_true", help="print the per-class report on the dev split")
    parser.add_argument("--model", type=Path, help="evaluate this saved model (bytes from --save) instead of training")
    parser.add_argument("--extra", type=Path, help="CSV of extra labelled rows (columns text, intent) to train on as well")
    parser.add_argument("--save", type=Path, help="write the trained model's bytes here")
    parser.add_argument("--bundle", action="store_true",
                        help=f"train with the defaults and rewrite the shipped model ({BUNDLED_MODEL.name}); deterministic")
    parser.add_argument("--errors", action="store_true", help="also list the dev queues classified wrongly")
    args = parser.parse_args(argv)
    if not (args.evaluate or args.save or args.bundle):
        parser.error("nothing to do: give --evaluate, --save and/or --bundle")
    if args.bundle and (args.model or args.extra):
        parser.error("--bundle trains on the shipped corpus alone: no --model or --extra")
    started = time.perf_counter()
    if args.model:
        model = IntentModel.from_bytes(args.model.read_bytes())
    else:
        extra = pd.read_csv(args.extra, dtype=str, keep_default_na=False) if args.extra else None
        model = train(extra)
    seconds = time.perf_counter() - started
    if args.save:
        args.save.write_bytes(model.to_bytes())
    if args.bundle:
        BUNDLED_MODEL.write_bytes(model.to_bytes())
        print(f"wrote {BUNDLED_MODEL} (model {model.version}, {BUNDLED_MODEL.stat().st_size} bytes)")
    if args.evaluate:
        dev = intent_corpus.load_corpus("dev")
        print(format_report(evaluate(model, dev)))
        print(f"model {model.version}: {len(model.vocabulary)} features, temperature {model.temperature}, "
              f"{'loaded' if args.model else 'trained'} in {seconds:.1f} s")
        if args.errors:
            result = model.classify(dev["text"])
            wrong = result["intent"].to_numpy(dtype=object) != dev["intent"].to_numpy(dtype=object)
            for (qid, text, truth), row in zip(dev.loc[wrong, ["queue_id", "text", "intent"]].itertuples(index=False, name=None),
                                               result[wrong].itertuples(index=False)):
                print(f"{qid}  truth {truth:<13} got {row.intent:<13} {row.confidence:.2f} {row.source:<5}  {text!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
