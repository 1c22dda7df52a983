"""Normalised text of customer queues for the intent classifier (SPEC 7, docs/DECISIONS.md
"Intent classification").

Buyers write informal Indonesian: abbreviations (brp, hrg, gk, sdh, blm), dropped vowels
(rsak, bsah), stretched letters (bangeeet), emoji, English, and several short messages in a
row. :func:`normalise` maps one queue (its customer messages joined by ``"\\n"``) to a plain
string of space-separated tokens in which

- spelling variants of one word are one token (``gk``/``ga``/``nggak`` -> ``tidak``,
  ``udh``/``sdh`` -> ``sudah``, ``rsak`` -> ``rusak``, ``kaaak`` -> ``kak``; the address forms
  kak / min / gan / sis / pak / bu ... -> ``kak``);
- numbers, prices, phone numbers, links and emoji become marker tokens (``xnum``, ``xprice``,
  ``xphone``, ``xurl``, ``xemoneg`` / ``xemopos`` / ``xemopray``), ``?`` becomes ``xq``, other
  clause punctuation ``xc`` and a message boundary ``xbr``;
- a word under a negation is prefixed ``neg_`` ("tidak rusak kok" -> ``tidak neg_rusak kok``)
  up to three words or the end of the clause, while a negator used as a question tag ("rusak
  ga kalau dicuci?", "sudah dikirim belum kak?") becomes ``xqtag`` and negates nothing;
- hedges that contain complaint words in another sense become one token: ``xapprox``
  ("kurang lebih", "kurleb"), ``xunsure`` ("kurang tau", "gak tahu"), ``xlessthan``
  ("kurang dari"), ``xreturncustomer`` ("return customer", "langganan lama"), ``xreorder``
  ("repeat order", "RO"), ``xnego`` (bargaining: "bisa kurang", "kurangin", "nego").

:func:`features` turns a normalised text into the model's feature strings (word unigrams and
bigrams within a message, character 3- to 5-grams of each word). Both are pure functions of
their input; :func:`normalise_many` maps them over any sequence of texts (pandas / NumPy /
Arrow / list; missing values are ""). No stemmer: PySastrawi was measured and did not help
(docs/DECISIONS.md).
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

NORMALISER_VERSION = "3"

BREAK = "xbr"  # between two messages of a queue
CLAUSE = "xc"  # between two clauses of a message
QMARK = "xq"  # a question mark
QTAG = "xqtag"  # a negator used as a question tag: "rusak ga?", "sudah dikirim belum?"
NEG = "neg_"  # prefix of a word under a negation

# --------------------------------------------------------------------------------------------
# Emoji, links, numbers
# --------------------------------------------------------------------------------------------

_EMOJI_NEG = "😡😠🤬😤😒😞😔😢😭😓😩😫😖😣☹🙁😕👎💢😷😰😱🥺😑😐"
_EMOJI_POS = "😀😁😂🤣😃😄😅😆😊😍🥰😘👍👌🙌🎉✨❤💕🔥😎🤗😉🙂☺💯🏆😻🥳🤩"
_EMOJI_PRAY = "🙏"
_EMOJI_TOKENS = {**{c: " xemoneg " for c in _EMOJI_NEG}, **{c: " xemopos " for c in _EMOJI_POS}, _EMOJI_PRAY: " xemopray "}
# any other pictograph, symbol, flag or variation selector: dropped
_OTHER_SYMBOL = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\uFE00-\uFE0F\u200B-\u200F\u2060\U000E0000-\U000E007F]")

_URL = re.compile(r"(?:https?://|www\.)\S+|\b\S+\.(?:com|co\.id|id|net|org|ly)/\S*")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b|\b[\w.+-]+@(?=\s|$)")
_PHONE = re.compile(r"(?:\+62|\b62|\b0)8[\d\s-]{7,14}\d\b|\b08\d{1,3}x+\b", re.IGNORECASE)
# Rp 12.500 / rp12500 / idr 12,000 / 12rb / 12 ribu / 12k / 1,2jt / 1.5 juta
_PRICE = re.compile(
    r"\b(?:rp|idr)\.?\s*\d[\d.,]*(?:\s*(?:rb|ribu|k|jt|juta))?\b"
    r"|\b\d+(?:[.,]\d+)?\s*(?:rb|ribu|rbu|k|jt|juta)\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d+(?:[.,/:-]\d+)*")
_REDUPLICATION = re.compile(r"\b([a-z]{2,})2\b")  # "kata2", "pecah2" -> "kata kata"
_HYPHEN_REDUP = re.compile(r"\b([a-z]{2,})-\1\b")  # "pecah-pecah" -> "pecah pecah"
_GA_DEPT = re.compile(r"\b(?:[Bb]agian|[Dd]ivisi|[Tt]im|[Dd]ept\.?) GA(?![A-Za-z])")
_CLAUSE = re.compile(r"[.,;:!()\[\]\"“”]+|\s-\s|…")
_QUESTION = re.compile(r"\?+")
_NON_WORD = re.compile(r"[^a-z_\s]+")  # "_" stays: bagian_ga
_REPEATS = re.compile(r"([a-z])\1{2,}")
_LAUGH = re.compile(r"^(?:(?:wk)+w?|(?:ha){2,}h?|(?:he){2,}h?|(?:hi){2,}h?|(?:xi){2,}|awok\w*|wkwk\w*|kwkw\w*)$")
_CLAUSE_MARK = "xc"  # a clause boundary inside a message (, . ; : ! and the like)

# --------------------------------------------------------------------------------------------
# Words
# --------------------------------------------------------------------------------------------

# One spelling of each word: abbreviation, slang, dropped vowels and common typos -> the word.
_SLANG: dict[str, str] = {}


def _add(target: str, *variants: str) -> None:
    for v in variants:
        _SLANG[v] = target


# negators (question tags are told apart later)
_add("tidak", "gk", "ga", "gak", "nggak", "ngga", "nggk", "ngk", "ngak", "enggak", "engga", "egak", "kagak", "ndak", "nda",
     "tdk", "tak", "gag", "g", "gx", "gaa", "tida", "tdak", "nope")
_add("bukan", "bkn", "bukn")
_add("belum", "blm", "blom", "belom", "blum", "blon", "lum")
_add("jangan", "jgn", "jngn", "jangn")
_add("dll", "dsb", "dst", "etc", "dkk")
# fused negations: "gajadi" -> "tidak jadi"
_add("tidak jadi", "gajadi", "gjd", "gkjd", "gakjadi")
_add("tidak usah", "gausah", "gusah", "gaush", "gkusah", "ndakusah")
_add("tidak bisa", "gabisa", "gbs", "gabs", "gakbisa", "gkbs", "gkbisa")
_add("tidak ada", "gada", "gaada", "gkada", "gakada", "nggada")
_add("tidak tahu", "gatau", "gtau", "gatw", "gtw", "gataw", "gktau", "gaktau")
# auxiliaries and function words
_add("sudah", "sdh", "udh", "udah", "sudh", "sdah", "dah", "udahan", "uda", "sudahh", "uah", "udha", "suda", "sudha")
_add("yang", "yg", "yng", "yangg", "yagn", "ygn", "ynag", "yanf")
_add("dengan", "dgn", "dg", "dngn")
_add("untuk", "utk", "untk", "buat", "bwt", "bt")
_add("karena", "krn", "krna", "karna", "soalnya", "soale")
_add("tapi", "tp", "tpi", "tetapi", "namun")
_add("cuma", "cuman", "cm", "cmn", "doang")
_add("juga", "jg", "jga")
_add("saya", "sy", "aku", "ak", "gue", "gw", "gua", "aq", "sya", "akoh")
_add("kamu", "km", "anda", "lu", "lo")
_add("bisa", "bs", "bsa", "bsia", "bsi")
_add("kenapa", "knp", "knpa", "knapa", "ngapa", "mengapa")
_add("gimana", "gmn", "gmna", "gmana", "bagaimana", "bgmn", "gimane")
_add("dimana", "dmn", "dmna", "dmana", "mana")
_add("kapan", "kpn", "kapn")
_add("banget", "bgt", "bngt", "bgtt", "bangett", "bangt", "bingit", "sangat")
_add("terima_kasih", "makasih", "mksh", "makasi", "mksi", "mkasih", "mkasi", "trimakasih", "terimakasih", "trims", "trimss",
     "tengkyu", "thx", "tq", "tks", "thanks", "thank", "ty", "nuhun", "suwun", "tengkiu", "makacih", "mks")
_add("oke", "ok", "okay", "okey", "okeh", "oce", "okk", "okey", "okei", "okai", "k")
_add("lagi", "lg", "lgi")
_add("saja", "aja", "aj", "ajah", "ajaa")
_add("masih", "msh", "masi", "mash")
_add("sama", "sm", "ama")
_add("banyak", "bnyk", "byk", "bnyak", "banyk")
_add("sedikit", "dikit", "sdkt", "sdikit", "dkit")
_add("sekarang", "skrg", "skrng", "skg", "skrang", "skarang")
_add("besok", "bsk", "besuk", "bsok")
_add("kemarin", "kmrn", "kmrin", "kemaren", "kmaren", "kmarin", "kmrn", "kemrin", "kmren")
_add("minta", "mnt", "mnta", "mintak")
_add("tolong", "tlg", "tlng", "tolongin", "tulung")
_add("kalau", "kalo", "klo", "kl", "klu", "kalu", "klau", "jika", "jikalau", "kalok", "kalw")
_add("sebelum", "sblm", "sblum")
_add("setelah", "stlh", "stelah")
_add("terus", "trus", "trs", "teros")
_add("padahal", "pdhl", "pdahal", "padhal")
_add("jadi", "jd", "jdi", "jdnya")
_add("dari", "dr", "dri")
_add("dalam", "dlm")
_add("apakah", "apkh")
_add("gapapa", "gpp", "gapapa", "gapapah", "gppa", "ngapapa", "gakpapa", "gkpp", "nggapapa")
_add("tahu", "tau", "thu", "tw")
_add("sampai", "smpe", "smp", "sampe", "nyampe", "nyampai", "nympe", "smpai", "nyampek", "sampek", "smpi")
_add("datang", "dtg", "dateng", "dtng", "dtang")
_add("kirim", "krm", "krim", "kirm")
_add("dikirim", "dkrm", "dikirm", "dkirim", "dikrm", "dikrim")
_add("pesan", "psn", "pesen", "pesn", "pessan", "mesen", "memesan")
_add("pesanan", "pesenan", "psnan", "psanan", "orderan")
_add("order", "ordr", "oder", "ordeer", "odr")
_add("barang", "brg", "brng", "barng", "brang")
_add("harga", "hrg", "hrga", "hrag", "harg", "price")
_add("berapa", "brp", "brapa", "brpa", "berapaan", "brpan", "brapaan", "berpa")
_add("ambil", "ambl", "ambi", "amb")
_add("lanjut", "lnjt", "lanjt", "lnjut", "gas", "gaskeun", "gass")
_add("produksi", "prdksi", "produski", "prod")
_add("bukti", "bkti", "bukri")
_add("rekening", "rek", "rekn", "norek")
_add("transfer", "tf", "trf", "trnsfr", "transf", "trnsfer", "transfr", "tranfer", "trasfer", "transfe")
_add("checkout", "co", "chekout", "cekout", "ceckout")
_add("katalog", "ktlg", "katalok", "catalog", "catalogue")
_add("ready", "rdy", "redy", "redi", "readi")
_add("stok", "stk", "stock", "setok")
_add("sablon", "sblon", "sablonan")
_add("diskon", "dskon", "disc", "disk", "discount", "diskonan")
_add("murah", "mrh", "mrah")
_add("mahal", "mhl", "mahl")
_add("lusin", "lsn", "lusn")
_add("pcs", "pc", "biji", "bh", "buah", "pieces", "piece", "psc", "pcz")
_add("ongkir", "ongkr", "okir")
_add("please", "pls", "plz", "plis", "pliss", "mohon")
_add("kak", "ka", "kk", "kakak", "kaka", "kakk", "kaak", "mimin", "gan", "agan", "sis", "sist", "bos", "boss", "bro", "mas",
     "mba", "mbak", "mbk", "pak", "bu", "bang", "om", "tante", "bund", "bunda", "beb", "dear", "kaa")
_add("salam", "assalamualaikum", "assalamu", "alaikum", "askum", "aslm", "asw", "ass", "assalamualaikumm", "samlekom",
     "wassalamualaikum", "salamualaikum")
# damage and complaint words: dropped vowels and typos
_add("rusak", "rsak", "rsk", "rusk", "rusakk", "ruak")
_add("basah", "bsah", "bash", "bsh")
_add("pecah", "pcah", "pech", "pch", "peca")
_add("salah", "slh", "slah", "sala")
_add("kurang", "krg", "krang", "kurg", "krng", "kuran")
_add("lebih", "lbh", "lbih", "lebh")
_add("telat", "tlat", "tlt", "telad", "tlad")
_add("lambat", "lmbt", "lambt", "lemot")
_add("kecewa", "kcewa", "kecwa", "kcw", "kecewaa")
_add("jelek", "jlk", "jlek", "jelk")
_add("lepas", "lps", "lpas", "lepass")
_add("rapat", "rpt", "rapet", "rpat")
_add("bocor", "bcr", "bocr", "bcor")
_add("patah", "ptah", "pth")
_add("putus", "ptus", "pts")
_add("luntur", "luntr", "lntur", "lntr")
_add("penyok", "pnyok", "penyo", "peyok", "pnyk")
_add("sobek", "sbk", "sobk", "robek")
_add("retak", "rtak", "retk")
_add("komplain", "komplen", "complain", "komplin", "komplainn", "komplan")
_add("tumbler", "tmblr", "tumblr", "tumbel", "tumbller", "tumblur", "tumbelr")
_add("ganti", "gnti", "gnt", "gantiin")
_add("tukar", "tuker", "tkr", "tukr")
_add("ketukar", "ketuker", "tertukar", "ketuar")
_add("maaf", "maf", "mf", "sorry", "sori", "mav")
_add("kabar", "kbr", "kbar")
_add("kabari", "kbri", "kabarin", "kbrin", "kabarkan")
_add("buka", "bka")
_add("jam", "jm")
_add("alamat", "almt", "alamt", "almat")
_add("nomor", "nomer", "nmr", "nmor")
# normaliser 3: common chat spellings of function words (a queue's cue words: "ntar" is "nanti", a
# supposition; "mo" is "mau")
_add("mau", "mo", "mw", "mao", "mauu", "pengen", "pgn", "pingin", "pengin", "ingin")
_add("nanti", "ntar", "ntr", "nnti", "nti", "entar")
_add("dulu", "dlu", "dl", "duluan")
_add("memang", "emg", "emang", "mmg", "emng")
_add("benar", "bener", "bnr", "bnar")
_add("harus", "hrs", "kudu", "musti", "mesti")
_add("boleh", "blh", "bole", "bleh")
_add("tadi", "td", "tdi")
_add("gitu", "gt", "gtu", "gituu")
_add("dapat", "dpt", "dapet", "dpet")
_add("beberapa", "bbrp", "bberapa")
_add("sekali", "skali")

_PARTICLE_NYA_KEEP = frozenset({"punya", "hanya", "tanya", "bertanya", "ditanya", "nanya", "karunya", "sanya", "dunya", "menanya",
                                "tanyanya", "nyanya", "kenya", "bunya", "penanya"})
# words after which a negator is a question tag ("rusak ga kak?", "ready gak sih")
_TAG_FOLLOWERS = frozenset({"kak", "ya", "yah", "yaa", "sih", "kah", "nih", "dong", "kalau", "apa", "nanti", "tuh", "deh",
                            "nya", "kan", "ni", "gitu", "begitu", "ini", "itu", "si", "kah", "pas", "misal", "misalnya",
                            QMARK, BREAK, _CLAUSE_MARK})
# words after which a negator starts a question tag ("apa tidak", "atau belum")
_TAG_LEADERS = frozenset({"atau", "apa", "ato", "or"})
# ends a negation's scope
_SCOPE_STOP = frozenset({"tapi", "dan", "terus", "padahal", "karena", "kalau", "sudah", "kak", "xbr", QMARK, _CLAUSE_MARK})
_SCOPE_PASS = frozenset({"nya", "kok", "sih"})  # inside a negation's scope, left as they are
# negated, but the scope goes on to the next word: "tidak ada yang rusak", "gak bisa dilipat"
_SCOPE_FREE = frozenset({"ada", "yang", "bisa", "pernah", "terlalu", "begitu", "satupun", "pun", "akan", "mau", "boleh",
                         "dapat", "sama", "is", "are", "was", "be", "any", "a", "the"})
_NEGATORS = frozenset({"tidak", "bukan", "belum", "jangan", "tanpa", "no", "not", "never", "dont", "doesnt", "didnt", "isnt",
                       "wasnt", "arent", "werent", "havent", "hasnt", "cannot", "cant", "wont", "nothing", "none", "nor"})
_UNSURE_AFTER_KURANG = frozenset({"tahu", "paham", "ngerti", "mengerti", "yakin", "ngeh"})

# multi-word phrases (over mapped tokens) -> one token, longest first
_PHRASES: tuple[tuple[tuple[str, ...], str], ...] = tuple(
    sorted(
        (
            (tuple(k.split()), v)
            for k, v in {
                "kurang lebih": "xapprox",
                "lebih kurang": "xapprox",
                "kurang lebihnya": "xapprox",
                "kurang lebih nya": "xapprox",
                "kurleb": "xapprox",
                "kurleb": "xapprox",
                "sekitar": "xapprox",
                "kira kira": "xapprox",
                "kurang dari": "xlessthan",
                # "the old one" is no delay ("lama" alone: "kok lama banget")
                "yang lama": "yang xold",
                "yg lama": "yang xold",
                "nomor lama": "nomor xold",
                "alamat lama": "alamat xold",
                "rekening lama": "rekening xold",
                "admin lama": "kak xold",
                "lebih dari": "xmorethan",
                "tidak tahu": "xunsure",
                "return customer": "xreturncustomer",
                "repeat customer": "xreturncustomer",
                "returning customer": "xreturncustomer",
                "pelanggan lama": "xreturncustomer",
                "langganan lama": "xreturncustomer",
                "customer lama": "xreturncustomer",
                "repeat order": "xreorder",
                "re order": "xreorder",
                "reorder": "xreorder",
                "ro": "xreorder",
                "order lagi": "xreorder",
                "pesan lagi": "xreorder",
                "pesan ulang": "xreorder",
                "order ulang": "xreorder",
                "beli lagi": "xreorder",
                "beli ulang": "xreorder",
                # "no" before a contact or document word is "nomor", not a negator
                "no hp": "nomor hp",
                "no wa": "nomor wa",
                "no telp": "nomor telp",
                "no telepon": "nomor telepon",
                "no rek": "nomor rekening",
                "no rekening": "nomor rekening",
                "no resi": "nomor resi",
                "no invoice": "nomor invoice",
                "no po": "nomor po",
                "no pesanan": "nomor pesanan",
                "no saya": "nomor saya",
                "no kantor": "nomor kantor",
                # a changed contact (a record to update, not a remedy: "ganti" alone reads as one)
                "ganti nomor": "xnewcontact",
                "nomor baru": "xnewcontact",
                "nomor ganti": "xnewcontact",
                "nomor saya ganti": "xnewcontact",
                "no saya ganti": "xnewcontact",
                "ganti no": "xnewcontact",
                "nomor hp baru": "xnewcontact",
                "nomor wa baru": "xnewcontact",
                "ganti email": "xnewcontact",
                "email baru": "xnewcontact",
                "ganti rekening": "xnewcontact",
                "new number": "xnewcontact",
                "new email": "xnewcontact",
                # a change to an order ("ganti jadi merah"), not a replacement
                "ganti jadi": "ubah jadi",
                "diganti jadi": "diubah jadi",
                "ganti ke": "ubah ke",
                "diganti ke": "diubah ke",
                "gantinya jadi": "ubah jadi",
                "return policy": "xreturnpolicy",
                "bisa kurang": "xnego",
                "boleh kurang": "xnego",
                "kurangin": "xnego",
                "dikurangin": "xnego",
                "kurangi harga": "xnego",
                "nego": "xnego",
                "negoin": "xnego",
                "nawar": "xnego",
                "tawar": "xnego",
                "ditawar": "xnego",
                "last price": "xnego",
                "harga pas": "xnego",
                "tidak apa apa": "gapapa",
                "tidak apa": "gapapa",
                "tidak papa": "gapapa",
                "tidak masalah": "gapapa",
                "tidak ada masalah": "gapapa",
                "no problem": "gapapa",
                "terima kasih": "terima_kasih",
                "thank you": "terima_kasih",
                "ongkos kirim": "ongkir",
                "min order": "minimal order",
                "min pesan": "minimal pesan",
                "min pembelian": "minimal pembelian",
                "min qty": "minimal order",
                "minimum order": "minimal order",
                "kartu kredit": "kartu_kredit",
                "mesin cuci": "mesin_cuci",
            }.items()
        ),
        key=lambda kv: -len(kv[0]),
    )
)
_MAX_PHRASE = max(len(k) for k, _ in _PHRASES)
_PHRASE_MAP = dict(_PHRASES)


def _map_token(token: str, correct: bool = True) -> list[str]:
    """One raw word -> its normalised word(s)."""
    if len(token) > 1 and token.strip("k") == "":
        return ["kak"]  # "kkk" addresses; a lone "k" is "ok"
    token = _REPEATS.sub(r"\1", token)
    if _LAUGH.match(token):
        return ["xlaugh"]
    if token in _SLANG:
        return _SLANG[token].split(" ")
    if len(token) > 5 and token.endswith("nya") and token not in _PARTICLE_NYA_KEEP:
        stem = token[:-3]
        return [_SLANG.get(stem) or (_correct(stem) if correct else stem), "nya"]
    if token.startswith("di") and token[2:] in _SLANG and len(token) > 4 and _SLANG[token[2:]] in ("kirim", "transfer", "tukar", "ganti"):
        return ["di" + _SLANG[token[2:]]]
    return [_correct(_colloquial_suffix(token)) if correct else token]


def _colloquial_suffix(token: str) -> str:
    """An unknown word with the spoken suffix "-in" as its written form: "dibatalin" ->
    dibatalkan, "kabarin" -> kabari, "dikasihin" -> dikasih (the first of -kan / -i / nothing
    that is a known word; else the word as it is)."""
    if len(token) < 6 or not token.endswith("in"):
        return token
    known, _ = _lexicon()
    if token in known:
        return token
    stem = token[:-2]
    for candidate in (stem + "kan", stem + "i", stem):
        if candidate in known:
            return candidate
    return token


# --------------------------------------------------------------------------------------------
# Spelling: an unknown word one typo away from a known word becomes that word
# --------------------------------------------------------------------------------------------

WORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "intent_words.txt"
MIN_CORRECTED_LENGTH = 5  # shorter words are too close to each other to guess
_PROBLEM_WORDS = frozenset({"damage", "wrong", "short", "late", "upset", "remedy", "billing"})


@functools.lru_cache(maxsize=1)
def words_sha256() -> str:
    """SHA-256 of the known-word list: part of what the normaliser is (a model records it)."""
    return hashlib.sha256(WORDS_FILE.read_bytes() if WORDS_FILE.is_file() else b"").hexdigest()


@functools.lru_cache(maxsize=1)
def _lexicon() -> tuple[dict[str, int], dict[str, str]]:
    """(known word -> count, one-letter deletion -> the most frequent known word it comes from).

    Known words: those of ``data/intent_words.txt`` (the words of the hand-written corpus seen
    at least twice, with their counts; written by ``python -m kpi_transforms.facts.intent_corpus
    --build``), the targets of the spelling table and the concept lexicon."""
    counts: dict[str, int] = {}
    if WORDS_FILE.is_file():
        for line in WORDS_FILE.read_text(encoding="utf-8").splitlines():
            word, _, count = line.partition("\t")
            if word:
                counts[word] = int(count or 1)
    phrase_words = [w for phrase, _ in _PHRASES for w in phrase]
    rule_words = [*_NEGATORS, *_TAG_FOLLOWERS, *_TAG_LEADERS, *_SCOPE_STOP, *_SCOPE_FREE, *_UNSURE_AFTER_KURANG,
                  *QUESTION_CUES, *PROMISE_CUES, *NOT_YET_CUES]
    for word in [*_SLANG.values(), *CONCEPTS, *phrase_words, *rule_words]:
        for part in word.split(" "):
            counts.setdefault(part, 1)
    deletions: dict[str, str] = {}
    for word in sorted(counts, key=lambda w: (-counts[w], w)):
        if len(word) >= MIN_CORRECTED_LENGTH - 1:
            for i in range(len(word)):
                deletions.setdefault(word[:i] + word[i + 1:], word)
    return counts, deletions


@functools.lru_cache(maxsize=65536)
def _correct(token: str) -> str:
    """``token``, or the known word one letter away from it (a letter dropped, added, replaced
    or two swapped: "suah" -> sudah, "reetur" -> retur, "belim" -> belum): the most frequent
    such word; on a tie a dropped letter before an added one before a replaced one. A replaced
    or swapped letter never makes a problem word (damage, wrong item, ...)."""
    if len(token) < MIN_CORRECTED_LENGTH - 1 or not token.isalpha():
        return token
    known, deletions = _lexicon()
    if token in known:
        return token
    candidates = {deletions[token]: 0} if token in deletions else {}  # a letter dropped
    if len(token) >= MIN_CORRECTED_LENGTH:
        shorter = [token[:i] + token[i + 1:] for i in range(len(token))]
        for word in shorter:
            if word in known:  # a letter added
                candidates.setdefault(word, 1)
        for word in shorter:
            # a letter replaced, or two swapped; never into a problem word ("peach" is no "pecah"):
            # a false complaint costs more than a missed typo
            if word in deletions and CONCEPTS.get(deletions[word]) not in _PROBLEM_WORDS:
                candidates.setdefault(deletions[word], 2)
    if not candidates:
        return token
    return min(candidates, key=lambda w: (-known[w], candidates[w], w))


def _phrases(tokens: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    n = len(tokens)
    while i < n:
        for size in range(min(_MAX_PHRASE, n - i), 0, -1):
            hit = _PHRASE_MAP.get(tuple(tokens[i:i + size]))
            if hit is not None:
                out.extend(hit.split(" "))
                i += size
                break
        else:
            out.append(tokens[i])
            i += 1
    return out


def _address(tokens: list[str]) -> list[str]:
    """A "min" that did not start "min order" addresses the admin: -> kak."""
    return ["kak" if t == "min" else t for t in tokens]


def _kurang(tokens: list[str]) -> list[str]:
    """'kurang tau / paham / yakin' -> xunsure (the phrase table cannot see 'kurang tau nih')."""
    out: list[str] = []
    skip = False
    for i, tok in enumerate(tokens):
        if skip:
            skip = False
            continue
        if tok == "kurang" and i + 1 < len(tokens) and tokens[i + 1] in _UNSURE_AFTER_KURANG:
            out.append("xunsure")
            skip = True
        else:
            out.append(tok)
    return out


def _negation(tokens: list[str]) -> list[str]:
    """Question tags -> xqtag; after any other negator the next word gets the neg_ prefix (and
    the words of :data:`_SCOPE_FREE` before it: "tidak ada yang rusak")."""
    out: list[str] = []
    scope = 0
    n = len(tokens)
    for i, tok in enumerate(tokens):
        if tok in _NEGATORS:
            nxt = tokens[i + 1] if i + 1 < n else _CLAUSE_MARK
            prev = out[-1] if out else _CLAUSE_MARK
            is_tag = tok in ("tidak", "belum") and (
                nxt in _TAG_FOLLOWERS and prev not in (_CLAUSE_MARK, BREAK, "kak", "salam") or prev in _TAG_LEADERS
            )
            if is_tag:
                out.append(QTAG)
                scope = 0
            else:
                out.append(tok)
                scope = 1
            continue
        if tok in _SCOPE_STOP or tok in _ALL_MARKERS:
            scope = 0
            out.append(tok)
            continue
        if scope and tok in _SCOPE_PASS:
            out.append(tok)
        elif scope:
            out.append(NEG + tok)
            if tok not in _SCOPE_FREE:
                scope -= 1
        else:
            out.append(tok)
    return out


def _message(text: str, correct: bool = True) -> list[str]:
    """Tokens of one message."""
    for emoji, token in _EMOJI_TOKENS.items():
        if emoji in text:
            text = text.replace(emoji, token)
    text = _OTHER_SYMBOL.sub(" ", text)
    text = _URL.sub(" xurl ", text)
    text = _EMAIL.sub(" xemail ", text)
    text = _PHONE.sub(" xphone ", text)
    text = _PRICE.sub(" xprice ", text)
    text = _REDUPLICATION.sub(r"\1 \1", text)
    text = _HYPHEN_REDUP.sub(r"\1 \1", text)
    text = _NUMBER.sub(" xnum ", text)
    text = _QUESTION.sub(f" {QMARK} ", text)
    text = _CLAUSE.sub(f" {_CLAUSE_MARK} ", text)
    text = text.replace("'", "").replace("’", "").replace("`", "")
    text = _NON_WORD.sub(" ", text)
    tokens: list[str] = []
    for raw in text.split():
        if raw.startswith("x") and raw in _MARKERS:
            tokens.append(raw)
        else:
            tokens.extend(_map_token(raw, correct))
    if tokens == ["p"]:
        return ["xping"]
    tokens = _address(_phrases(tokens))
    tokens = _kurang(tokens)
    return _negation(tokens)


_MARKERS = frozenset({"xurl", "xemail", "xphone", "xprice", "xnum", QMARK, _CLAUSE_MARK, "xemoneg", "xemopos", "xemopray"})


def normalise(text: Any, correct: bool = True) -> str:
    """The normalised token string of one queue text (messages separated by line breaks);
    ``correct=False``: without the spelling correction (how the known-word list is built)."""
    if text is None or (isinstance(text, float) and text != text):
        return ""
    text = unicodedata.normalize("NFKC", str(text))
    if _GA_DEPT.search(text) and not text.isupper():
        text = _GA_DEPT.sub("bagian_ga", text)  # "bagian GA" (General Affairs) is no "ga" (= tidak)
    text = text.lower().replace("\r\n", "\n").replace("\r", "\n")
    tokens: list[str] = []
    for part in text.split("\n"):
        message = _clauses(_message(part, correct))
        if message:
            if tokens:
                tokens.append(BREAK)
            tokens.extend(message)
    return " ".join(tokens)


def _clauses(tokens: list[str]) -> list[str]:
    """Clause marks kept between words only, never two in a row."""
    out: list[str] = []
    for tok in tokens:
        if tok == _CLAUSE_MARK and (not out or out[-1] == _CLAUSE_MARK):
            continue
        out.append(tok)
    if out and out[-1] == _CLAUSE_MARK:
        out.pop()
    return out


def normalise_many(texts: Iterable[Any]) -> np.ndarray:
    """:func:`normalise` of each text (a list, NumPy array, pandas Series or Arrow array), as a
    NumPy object array in the same order; missing values give ""."""
    if hasattr(texts, "to_pylist"):  # Arrow
        texts = texts.to_pylist()
    elif hasattr(texts, "to_numpy") and not isinstance(texts, np.ndarray):  # pandas
        texts = texts.to_numpy(dtype=object, na_value=None)
    return np.array([normalise(t) for t in texts], dtype=object)


# --------------------------------------------------------------------------------------------
# Features
# --------------------------------------------------------------------------------------------

CHAR_NGRAMS = (3, 5)


# Concept lexicon: a word of a concept also counts as ``k:<concept>`` (``kn:`` under a negation,
# ``kq:`` in a clause that asks), so a word seen rarely in the corpus votes with its concept.
_CONCEPT_WORDS: dict[str, str] = {
    "damage": "rusak pecah retak penyok sobek bocor patah cacat karatan karat ngelupas mengelupas copot putus bolong lecet "
              "baret gores goresan tergores jamuran luntur pudar blur burem belang kusam noda kotor macet hancur basah "
              "kebasahan lembek gosong bengkok meleleh remuk penyok ngadat rontok "
              "defect defects defective damaged broken cracked leaking leak leaks dent dents dented torn faulty scratched "
              "stained crooked faded smell smells rusty",
    "wrong": "salah keliru ketukar kebalik terbalik typo wrong misprinted misprint incorrect mismatch instead",
    "short": "kekurangan hilang ketinggalan missing incomplete short lost",
    "late": "telat terlambat lambat molor delay delayed late overdue nyasar lama",
    "promise": "dijanjikan janji janjinya katanya harusnya seharusnya estimasi deadline promised due supposed disepakati "
               "kesepakatan dijadwalkan agreed",
    "upset": "kecewa mengecewakan parah jelek buruk kesel kesal marah kapok nyesel menyesal keberatan kacau berantakan malu "
             "disappointed disappointing unacceptable terrible bad poor worst komplain keluhan complaint",
    "remedy": "refund retur ganti diganti gantiin tukar ditukar pengembalian kembalikan dikembalikan replace replacement "
              "replacements klaim kompensasi compensation reimburse",
    "billing": "tagih ditagih tagihan charged dobel double selisih kepotong overcharged",
    "price": "harga berapa biaya ongkos tarif budget anggaran murah mahal price prices pricing cost costs rate pricelist "
             "xprice kisaran",
    "nego": "xnego diskon potongan promo kemahalan discount discounts cheaper negotiate bonus",
    "stock": "ready stok tersedia kosong restock available availability stock",
    "moq": "minimal minimum moq",
    "quote_doc": "penawaran quotation quote katalog brosur proforma rincian catalogue brochure",
    "ship_cost": "ongkir kargo shipping",
    "option": "custom sablon grafir bordir emboss print cetak logo desain warna ukuran bahan model varian packaging size "
              "colour color material engraving embroidery",
    "buy": "ambil pesan order beli checkout booking fix lanjut deal proceed confirm konfirmasi setuju acc approve approved "
           "sepakat take purchase xreorder gaskeun diproses proses produksi",
    "payment": "transfer bayar dibayar lunas pelunasan lunasi dp bukti rekening va qris payment paid deposit invoice faktur "
               "nota mutasi balance transferred",
    "po": "po",
    "address": "alamat penerima address ship",
    "change": "ubah diubah revisi tambah tambahkan dikurangi dipisah dimundurkan change add ganti",
    "greet": "halo hai hi hello pagi siang sore malam salam permisi xping selamat met",
    "thanks": "terima_kasih thanks mantap puas senang bagus keren rapi mantul sukses suka love great xemopos",
    "ack": "oke sip siap baik noted iya betul dimengerti",
    "status": "resi posisi progres progress update kabar dispatched shipped tracking kurir ekspedisi dikemas jalan",
    "received": "sampai diterima terima datang arrived received",
    "fine": "aman selamat lengkap pas beres sesuai fine safe gapapa rapat rapi nyala muat berfungsi normal awet kuat cocok "
            "lancar mulus kepake terpakai",
    "cancel": "batal cancel dibatalkan batalkan pembatalan tunda ditunda pending dicancel",
    "place": "buka libur lokasi showroom toko workshop kantor maps parkir open opening hours located location office "
             "operasional",
    "contact": "nomor kontak email wa whatsapp telepon telpon hubungi save instagram ig xemail xphone",
    "season": "lebaran idul fitri natal imlek puasa ramadhan merdeka dirgahayu kartini christmas xmas",
    "job": "lowongan loker lamar melamar magang cv freelance vacancy job hiring lamaran",
    "vendor": "supplier menawarkan tawarkan jasa mitra pinjaman kredit hadiah undian klik followers seo hosting agency "
              "survei kuesioner titip",
    "later": "nanti diskusi diskusikan pertimbangkan atasan bos direksi kabari",
}
CONCEPTS: dict[str, str] = {word: concept for concept, words in _CONCEPT_WORDS.items() for word in words.split()}


# A clause with one of these asks or supposes: its words also count as ``q:<word>``, so "rusak"
# in "rusak ga kalau dicuci?" is learnt apart from "rusak" in "tumblernya rusak".
QUESTION_CUES = frozenset({QMARK, QTAG, "apakah", "kalau", "takut", "khawatir", "misal", "misalnya", "seandainya",
                           "andai", "bila", "apabila", "if", "whether"})
# A promise (date, estimate) and something still missing in one queue: a late delivery (SPEC 7).
PROMISE_CUES = frozenset({"dijanjikan", "janji", "janjinya", "katanya", "harusnya", "seharusnya", "estimasi", "deadline",
                          "promised", "due", "supposed", "dijadwalkan", "jadwalnya", "lewat"})
NOT_YET_CUES = frozenset({"belum", "neg_sampai", "neg_datang", "neg_dikirim", "neg_ada", "neg_dibalas", "neg_dijawab",
                          "neg_direspon", "telat", "terlambat", "lewat", "yet", "late", "still", "nothing"})


def features(normalised: str) -> list[str]:
    """Feature strings of one normalised text: ``w:<word>``, ``b:<word> <word>`` (bigrams inside
    one clause), ``q:<word>`` for each word of a clause holding a :data:`QUESTION_CUES` word,
    character n-grams of each word padded with spaces, ``c:<gram>`` (or ``n:<gram>`` for a
    negated word: the n-grams of "neg_rusak" must not vote like "rusak"), the word's concept
    (``k:`` / ``kn:`` / ``kq:``, see :data:`CONCEPTS`) and ``f:promise_not_yet``
    when the queue holds a :data:`PROMISE_CUES` and a :data:`NOT_YET_CUES` word. (A negator
    before a negated word gives no feature of its own: "tidak" alone votes for no intent.)"""
    words, spelled = word_features(normalised)
    for item in spelled:
        words.extend(char_ngrams(item))
    return words


def word_features(normalised: str) -> tuple[list[str], list[str]]:
    """:func:`features` in two parts: the word-level features, and the words whose character
    n-grams complete them (as ``c:<word>`` / ``n:<word>``, see :func:`char_ngrams`)."""
    out: list[str] = []
    spelled: list[str] = []
    tokens = normalised.split()
    clause: list[str] = []
    for tok in [*tokens, CLAUSE]:
        if tok not in (CLAUSE, BREAK):
            clause.append(tok)
            if tok != QMARK:
                continue
        if tok == BREAK:
            out.append("w:" + BREAK)
        asks = not QUESTION_CUES.isdisjoint(clause)
        prev: str | None = None
        for i, word in enumerate(clause):
            if word in _NEGATORS and i + 1 < len(clause) and clause[i + 1].startswith(NEG):
                continue
            out.append("w:" + word)
            if asks:
                out.append("q:" + word)
            if prev is not None:
                out.append("b:" + prev + " " + word)
            prev = word
            negated = word.startswith(NEG)
            if negated:
                word = word[len(NEG):]
            concept = CONCEPTS.get(word)
            if concept is not None:
                out.append(("kn:" if negated else "k:") + concept)
                if asks:
                    out.append("kq:" + concept)
            if word not in _ALL_MARKERS:
                spelled.append(("n:" if negated else "c:") + word)
        clause = []
    words = set(tokens)
    if not PROMISE_CUES.isdisjoint(words) and not NOT_YET_CUES.isdisjoint(words):
        out.append("f:promise_not_yet")
    return out, spelled


def char_ngrams(spelled: str) -> list[str]:
    """``c:rusak`` -> ``c: ru``, ``c:rus``, ... ``c:usak ``, ``c: rusak``...: the 3- to 5-grams
    of the word padded with one space each side, in the word's namespace (``c:`` or ``n:``)."""
    space, word = spelled[:2], spelled[2:]
    padded = " " + word + " "
    length = len(padded)
    lo, hi = CHAR_NGRAMS
    out: list[str] = []
    for n in range(lo, min(hi, length) + 1):
        out.extend(space + padded[j:j + n] for j in range(length - n + 1))
    return out


_ALL_MARKERS = _MARKERS | frozenset({BREAK, QTAG, "xping", "xlaugh", "xapprox", "xunsure", "xlessthan", "xmorethan",
                                     "xreturncustomer", "xreorder", "xreturnpolicy", "xnego", "xnewcontact", "xold"})
