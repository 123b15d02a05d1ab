"""The Venezuelan national ID number (cédula de identidad).

Stored normalised as ``V-12345678`` / ``E-12345678``: a nationality letter (V for Venezuelan,
E for foreign resident), a hyphen and 6 to 9 digits without leading zeros. People type it in
many ways; we accept the common ones ("v12345678", "V-12.345.678", "V 12345678") and refuse
anything else with a message that says what is wrong.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

NORMALISED_PATTERN = r"^[VE]-[1-9][0-9]{5,8}$"

_TYPED = re.compile(
    r"""^\s*
    (?P<letter>[VvEe])
    \s*-?\s*
    (?P<number>[0-9]{1,3}(?:\.[0-9]{3}){1,2}|[0-9]+)
    \s*$""",
    re.VERBOSE,
)


def cedula_normalise(value: str) -> str:
    """Return the cédula in its stored form, or raise ValidationError saying what is wrong."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(_("Enter a cédula, for example V-12345678."), code="required")
    match = _TYPED.match(value)
    if match is None:
        raise ValidationError(
            _(
                "“%(value)s” is not a valid cédula. Write V or E followed by the number, "
                "for example V-12345678."
            ),
            code="invalid",
            params={"value": value.strip()[:40]},
        )
    digits = match["number"].replace(".", "")
    if not 6 <= len(digits) <= 9:
        raise ValidationError(
            _("A cédula number has between 6 and 9 digits; “%(value)s” has %(count)d."),
            code="length",
            params={"value": value.strip()[:40], "count": len(digits)},
        )
    if digits[0] == "0":
        raise ValidationError(_("A cédula number does not start with 0."), code="leading_zero")
    return f"{match['letter'].upper()}-{digits}"


def cedula_mask(cedula: str) -> str:
    """Show a cédula without revealing it whole: ``V-12345678`` becomes ``V-****5678``."""
    letter, _sep, digits = cedula.partition("-")
    return f"{letter}-{'*' * (len(digits) - 4)}{digits[-4:]}"
