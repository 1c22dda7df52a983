"""The normaliser of informal Indonesian customer text (kpi_transforms/facts/intent_text.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from kpi_transforms.facts.intent_text import features, normalise, normalise_many


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # lower-casing, punctuation (clause mark xc, question mark xq), numbers
        ("Oke Kak, saya ambil 200 PCS ya!", "oke kak xc saya ambil xnum pcs ya"),
        # stretched letters
        ("bangeeet kaaak", "banget kak"),
        ("makasiiih kakkk", "terima_kasih kak"),
        # abbreviations and slang
        ("brp hrg nya", "berapa harga nya"),
        ("sdh tf", "sudah transfer"),
        ("udh trf dp", "sudah transfer dp"),
        ("blm smpe", "belum neg_sampai"),
        ("min, pcs, gan", "kak xc pcs xc kak"),
        ("min order brp", "minimal order berapa"),
        ("tumbler, mug dll", "tumbler xc mug dll"),
        # dropped vowels / typos
        ("barangnya rsak", "barang nya rusak"),
        ("kardusnya bsah", "kardus nya basah"),
        ("tmblr nya pcah", "tumbler nya pecah"),
        # every negator spelling is "tidak", and the words after it are marked
        ("tdk rusak", "tidak neg_rusak"),
        ("gk rusak", "tidak neg_rusak"),
        ("ga rusak kok", "tidak neg_rusak kok"),
        ("gak ada yg pecah", "tidak neg_ada neg_yang neg_pecah"),
        ("nggak luntur", "tidak neg_luntur"),
        ("Barangnya tidak rusak kok kak, aman semua", "barang nya tidak neg_rusak kok kak xc aman semua"),
        ("tutupnya gak rapat", "tutup nya tidak neg_rapat"),
        # ... but a negator used as a question tag negates nothing
        ("Tumblernya rusak ga kalau dicuci?", "tumbler nya rusak xqtag kalau dicuci xq"),
        ("Sudah dikirim belum kak?", "sudah dikirim xqtag kak xq"),
        ("ready gak?", "ready xqtag xq"),
        ("bisa atau tidak", "bisa atau xqtag"),
        # hedges and other senses of complaint words
        ("kurang lebih 300 pcs", "xapprox xnum pcs"),
        ("kurleb 200", "xapprox xnum"),
        ("kurang tau kak", "xunsure kak"),
        ("saya kurang paham", "saya xunsure"),
        ("gatau kak", "xunsure kak"),
        ("kurang dari 100", "xlessthan xnum"),
        ("Return customer nih kak", "xreturncustomer nih kak"),
        ("repeat order 100", "xreorder xnum"),
        ("pesen ulang 150 ya", "xreorder xnum ya"),
        # "no" naming a number is not a negator; a changed contact is not a remedy ("ganti")
        ("no hp saya", "nomor hp saya"),
        ("no saya ganti ya", "xnewcontact ya"),
        ("ini nomer baru saya", "ini xnewcontact saya"),
        ("no damage", "no neg_damaged"),
        ("harga bisa kurang gak", "harga xnego xqtag"),
        ("gpp kok", "gapapa kok"),
        ("gjd psn", "tidak neg_jadi pesan"),
        # prices, phones, links
        ("Rp 12.500 / 12rb / 1,2jt", "xprice xprice xprice"),
        ("wa 0812-3456-7890", "wa xphone"),
        ("cek https://toko.example/p/1", "cek xurl"),
        # emoji
        ("rusak 😭", "rusak xemoneg"),
        ("mantap 👍😁", "mantap xemopos xemopos"),
        ("makasih 🙏", "terima_kasih xemopray"),
        # reduplication
        ("pecah2 semua", "pecah pecah semua"),
        ("patah-patah", "patah patah"),
        # message boundaries
        ("Kak\nGoodie bag udah sampai\ntapi tali nya pada lepas…", "kak xbr goodie bag sudah sampai xbr tapi tali nya pada lepas"),
        ("P", "xping"),
        ("wkwkwk iya", "xlaugh iya"),
        # "bagian GA" (General Affairs) is no negator
        ("kami dari bagian GA", "kami dari bagian_ga"),
    ],
)
def test_normalise(text, expected):
    assert normalise(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # an unknown word one letter from a known word of the corpus becomes that word
        ("refund nya suah masuk", "refund nya sudah masuk"),  # a letter dropped
        ("mau reetur 15 pcs", "mau retur xnum pcs"),  # a letter added
        ("masih belim bayar", "masih belum neg_bayar"),  # a letter replaced
        ("trima kasih", "terima_kasih"),
        # ... but never into a problem word by a replaced or swapped letter, never a short word,
        # and a known word stays itself
        ("varian peach", "varian peach"),
        ("kak nego", "kak xnego"),
        ("barang bekas", "barang bekas"),
    ],
)
def test_spelling_correction(text, expected):
    assert normalise(text) == expected


def test_missing_and_empty_texts_normalise_to_empty():
    assert normalise(None) == ""
    assert normalise(float("nan")) == ""
    assert normalise("") == ""
    assert normalise("\n\n ... \n") == ""


def test_normalise_many_takes_lists_pandas_numpy_and_arrow():
    texts = ["Brp hrg nya kak?", None, "udh tf"]
    expected = np.array(["berapa harga nya kak xq", "", "sudah transfer"], dtype=object)
    for given in (texts, pd.Series(texts, dtype="string"), pd.Series(texts, dtype=object), np.array(texts, dtype=object),
                  pa.array(texts)):
        out = normalise_many(given)
        assert out.dtype == object and out.tolist() == expected.tolist()


def test_negated_word_has_its_own_character_ngrams():
    plain = features(normalise("rusak"))
    negated = features(normalise("tidak rusak"))
    assert "c:rusak" in plain and "k:damage" in plain
    assert "c:rusak" not in negated and "n:rusak" in negated
    assert "kn:damage" in negated and "k:damage" not in negated
    assert "w:neg_rusak" in negated and "w:tidak" not in negated  # the negated word carries the negation
    assert "b:barang neg_rusak" in features(normalise("barang tidak rusak"))


def test_words_of_a_question_clause_also_count_as_asked():
    asked = features(normalise("rusak ga kalau dicuci?"))
    stated = features(normalise("rusak pas dicuci"))
    assert "q:rusak" in asked and "kq:damage" in asked
    assert "q:rusak" not in stated and "kq:damage" not in stated
    # the question clause ends at its question mark: the next clause is a statement
    two = features(normalise("harganya berapa? yang kemarin pecah"))
    assert "q:berapa" in two and "q:pecah" not in two


def test_a_missed_promise_is_one_feature():
    assert "f:promise_not_yet" in features(normalise("dijanjikan Senin, sekarang Kamis belum datang"))
    assert "f:promise_not_yet" not in features(normalise("sudah dikirim belum kak?"))


def test_bigrams_stay_inside_a_clause_and_a_message():
    feats = features(normalise("barang rusak, tolong\nganti"))
    assert "b:barang rusak" in feats
    assert "b:rusak tolong" not in feats and "b:tolong ganti" not in feats
    assert "w:xbr" in feats


def test_normalise_is_pure_and_deterministic():
    text = "Kak 🙏 brp hrg tumbler 500ml?? gk rsak kan"
    assert normalise(text) == normalise(text)
    assert features(normalise(text)) == features(normalise(text))
