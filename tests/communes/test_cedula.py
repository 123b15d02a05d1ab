import pytest
from django.core.exceptions import ValidationError

from communes.cedula import cedula_mask, cedula_normalise


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("V-12345678", "V-12345678"),
        ("v12345678", "V-12345678"),
        ("V-12.345.678", "V-12345678"),
        ("  e 8.123.456 ", "E-8123456"),
        ("E-123456", "E-123456"),
        ("V123456789", "V-123456789"),
        ("v-1.234.567", "V-1234567"),
    ],
)
def test_accepted_forms_are_stored_normalised(typed, stored):
    assert cedula_normalise(typed) == stored


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "required"),
        ("   ", "required"),
        ("12345678", "invalid"),  # no nationality letter
        ("X-12345678", "invalid"),
        ("V-1234-5678", "invalid"),
        ("V-12,345,678", "invalid"),
        ("V-12.34.5678", "invalid"),  # dots not in thousands
        ("V-12345", "length"),
        ("V-1234567890", "length"),
        ("V-01234567", "leading_zero"),
        ("VV-12345678", "invalid"),
        ("V-12345678x", "invalid"),
        ("V-１２３４５６７８", "invalid"),  # noqa: RUF001 -- full-width digits must be refused
        ("<script>", "invalid"),
    ],
)
def test_other_forms_are_refused_with_a_reason(typed, code):
    with pytest.raises(ValidationError) as raised:
        cedula_normalise(typed)
    assert raised.value.code == code


def test_refusal_is_in_spanish_and_shows_the_expected_form():
    with pytest.raises(ValidationError) as raised:
        cedula_normalise("12345678")
    assert "no es una cédula válida" in raised.value.messages[0]
    assert "V-12345678" in raised.value.messages[0]


def test_mask_shows_only_the_last_four_digits():
    assert cedula_mask("V-12345678") == "V-****5678"
    assert cedula_mask("E-123456") == "E-**3456"
