import pytest

from kpi_transforms.core.identity import normalise_email, normalise_name, normalise_phone


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("0812-3456-7890", "+6281234567890"),
        ("+62 812-3456-7890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("\u202a+62 812 3456 7890\u202c", "+6281234567890"),
        ("812 3456 7890", "+6281234567890"),
        ("+1 123 456 789", "+1123456789"),
        ("0062 812 3456 7890", "+6281234567890"),
        ("Budi Santoso", None),
        ("12", None),
        (None, None),
    ],
)
def test_phone(raw, expected):
    assert normalise_phone(raw) == expected


def test_names_compare_exactly_after_normalisation():
    assert normalise_name("  LIA\u200e  Sales ") == normalise_name("lia sales")
    assert normalise_name("Lia") != normalise_name("Lia Jombang")
    assert normalise_name("ｌｉａ") == "lia"  # NFKC folds full-width letters


def test_email():
    assert normalise_email("Sari <Sari@MajuJaya.co.id>") == "sari@majujaya.co.id"
    assert normalise_email("not an address") is None


@pytest.mark.parametrize(
    "raw, expected",
    [
        # issue 14: parentheses and landlines normalised to nothing
        ("(0812) 3456-7890", "+6281234567890"),
        ("(021) 555-1234", "+62215551234"),
        ("021-555-1234", "+62215551234"),
        ("+62 (21) 555 1234", "+62215551234"),
        ("0812.3456.7890", "+6281234567890"),
        ("62 812 3456 7890", "+6281234567890"),
        ("0062 21 555 1234", "+62215551234"),
        ("+65 6123 4567", "+6561234567"),
        ("0812 3456 7890 ext", None),
        ("(0812) 34", None),
        ("0", None),
    ],
)
def test_phone_formats_parsed_by_phonenumbers(raw, expected):
    assert normalise_phone(raw) == expected
    assert normalise_phone(raw, "62") == expected  # a calling code works as the default region too
