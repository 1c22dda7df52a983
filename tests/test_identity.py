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
