"""Validators for the identifiers a Chinese dealership records.

Each ``validate_*`` raises a translated ``ValidationError`` with a stable code,
so forms show it next to the field and the API returns it as a 400 reason.
Each ``normalize_*`` turns what people type (spaces, lower case, ``+86``) into
the stored form; validators expect normalized input.
"""

import datetime
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# --- Mainland mobile numbers -------------------------------------------------
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def normalize_mobile(value: str) -> str:
    digits = re.sub(r"[\s\-()]", "", value or "")
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
    return digits


def validate_mobile(value: str) -> None:
    if not MOBILE_RE.match(value or ""):
        raise ValidationError(
            _("Enter a mainland mobile number: 11 digits starting with 13–19."),
            code="invalid_mobile",
        )


# --- National ID numbers (GB 11643-1999) ---------------------------------------
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# Province-level codes of the administrative division code (GB/T 2260).
ID_PROVINCE_CODES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split()  # noqa: SIM905
)


def id_number_check_digit(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def normalize_id_number(value: str) -> str:
    return re.sub(r"\s", "", value or "").upper()


def id_number_birth_date(value: str) -> datetime.date | None:
    try:
        return datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None


def validate_id_number(value: str) -> None:
    if not re.fullmatch(r"\d{17}[\dX]", value or ""):
        raise ValidationError(
            _("An ID number has 18 characters: 17 digits and a final digit or X."),
            code="invalid_id_format",
        )
    if value[:2] not in ID_PROVINCE_CODES:
        raise ValidationError(_("The ID number's region code does not exist."), code="invalid_id_region")
    born = id_number_birth_date(value)
    if born is None or born.year < 1900 or born > datetime.date.today():
        raise ValidationError(_("The birth date inside the ID number is not a real date."), code="invalid_id_birth")
    if id_number_check_digit(value[:17]) != value[17]:
        raise ValidationError(
            _("The ID number's check digit is wrong; please check for a mistyped digit."),
            code="invalid_id_checksum",
        )


def mask_id_number(value: str) -> str:
    """``310101199001011234`` → ``3101**********1234``; never more than 8 shown."""
    if not value:
        return ""
    if len(value) < 9:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


# --- VIN (ISO 3779 / GB 16735 with check digit) -------------------------------
_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_VIN_RE = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")


def normalize_vin(value: str) -> str:
    return re.sub(r"\s", "", value or "").upper()


def vin_check_digit(vin: str) -> str:
    """The 9th character for a 17-character VIN (its own 9th position is ignored)."""
    total = sum(_VIN_VALUES[c] * w for c, w in zip(vin, _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def validate_vin(value: str) -> None:
    if len(value or "") != 17:
        raise ValidationError(_("A VIN has exactly 17 characters."), code="invalid_vin_length")
    if not _VIN_RE.match(value):
        raise ValidationError(
            _("A VIN uses digits and capital letters except I, O and Q."), code="invalid_vin_characters"
        )
    if vin_check_digit(value) != value[8]:
        raise ValidationError(
            _("The VIN's check digit (9th character) does not match; please check for a mistyped character."),
            code="invalid_vin_checksum",
        )


# --- Plate numbers (GA 36) -------------------------------------------------------
PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_L = "A-HJ-NP-Z"  # letters used on plates: no I, no O
_PLATE_RE = re.compile(
    rf"^[{PLATE_PROVINCES}][{_L}]"
    rf"(?:[{_L}0-9]{{5}}"  # ordinary: 5 letters/digits
    rf"|[{_L}0-9]{{4}}[挂学警港澳]"  # trailer, driving school, police, HK/Macau
    rf"|[A-HJK][{_L}0-9][0-9]{{4}}"  # new-energy small car: D/F (and A–K) first
    rf"|[0-9]{{5}}[A-HJK])$"  # new-energy large vehicle: D/F (and A–K) last
)


def normalize_plate(value: str) -> str:
    return re.sub(r"[\s·•\-.]", "", value or "").upper()


def validate_plate(value: str) -> None:
    if not _PLATE_RE.match(value or ""):
        raise ValidationError(
            _(
                "Enter a plate number such as 沪A12345, or 沪AD12345 for a new-energy car "
                "(province, letter, then 5 or 6 characters without I or O)."
            ),
            code="invalid_plate",
        )


# --- Opening days of a store -------------------------------------------------
def validate_weekdays(value: str) -> None:
    """ISO weekday digits, each once, at least one: "1234567", "123456"."""
    digits = value or ""
    if not digits or any(d not in "1234567" for d in digits) or len(set(digits)) != len(digits):
        raise ValidationError(
            _("List the open days as digits 1 (Monday) to 7 (Sunday), each once, such as 123456."),
            code="invalid_weekdays",
        )
