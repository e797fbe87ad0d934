import pytest
from django.core.exceptions import ValidationError

from crm.validators import (
    mask_id_number,
    normalize_id_number,
    normalize_mobile,
    normalize_plate,
    normalize_vin,
    validate_id_number,
    validate_mobile,
    validate_plate,
    validate_vin,
)


@pytest.mark.parametrize("value", ["13912345678", "15000000000", "18612345678", "19912345678", "16612345678"])
def test_mainland_mobile_numbers_are_accepted(value):
    validate_mobile(value)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("12912345678", "second digit 2"),
        ("1391234567", "10 digits"),
        ("139123456789", "12 digits"),
        ("23912345678", "does not start with 1"),
        ("1391234567a", "a letter"),
        ("02161234567", "a landline"),
        ("", "empty"),
    ],
)
def test_bad_mobile_numbers_are_refused(value, why):
    with pytest.raises(ValidationError) as exc:
        validate_mobile(value)
    assert exc.value.code == "invalid_mobile", why


def test_mobile_is_normalized_from_what_people_type():
    assert normalize_mobile("+86 139-1234-5678") == "13912345678"
    assert normalize_mobile("0086 13912345678") == "13912345678"


# 310101199001011234: weighted sum of the first 17 digits is 140 (worked out
# by hand with weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2); 140 mod 11 = 8,
# and position 8 of "10X98765432" is 4.
# 11010519491231002X is the worked example printed in GB 11643-1999.
@pytest.mark.parametrize("value", ["310101199001011234", "11010519491231002X"])
def test_valid_id_numbers_are_accepted(value):
    validate_id_number(value)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("310101199001011235", "invalid_id_checksum"),  # last digit off by one
        ("310101199001021234", "invalid_id_checksum"),  # a mistyped birth day
        ("11010519491231002Y", "invalid_id_format"),
        ("3101011990010112", "invalid_id_format"),  # 16 characters
        ("31010119900101123X4", "invalid_id_format"),  # 19 characters
        ("990101199001011234", "invalid_id_region"),  # no province 99
        ("310101199002301234", "invalid_id_birth"),  # 30 February
        ("310101189001011234", "invalid_id_birth"),  # born 1890
        ("310101209901011234", "invalid_id_birth"),  # born in the future
    ],
)
def test_bad_id_numbers_are_refused_with_the_reason(value, code):
    with pytest.raises(ValidationError) as exc:
        validate_id_number(value)
    assert exc.value.code == code


def test_id_numbers_are_normalized_and_masked():
    assert normalize_id_number(" 11010519491231002x ") == "11010519491231002X"
    assert mask_id_number("310101199001011234") == "3101**********1234"
    assert mask_id_number("") == ""


# 1M8GDM9AXKP042788 is the textbook VIN whose check digit is X (remainder 10).
# LSVAB2AT4NS000000: transliterated values 3 2 5 1 2 2 1 3 _ 5 2 0 0 0 0 0 0
# times weights 8 7 6 5 4 3 2 10 _ 9 8 7 6 5 4 3 2 give 24+14+30+5+8+6+2+30+45+16
# = 180; 180 mod 11 = 4.
@pytest.mark.parametrize("value", ["1M8GDM9AXKP042788", "LSVAB2AT4NS000000"])
def test_valid_vins_are_accepted(value):
    validate_vin(value)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("LSVAB2AT5NS000000", "invalid_vin_checksum"),
        ("1M8GDM9A1KP042788", "invalid_vin_checksum"),
        ("LSVAB2AT4NS00000", "invalid_vin_length"),
        ("LSVAB2AT4NS0000000", "invalid_vin_length"),
        ("LSVAB2AT4NS00000O", "invalid_vin_characters"),  # letter O
        ("ISVAB2AT4NS000000", "invalid_vin_characters"),  # letter I
        ("LSVAB2AT4NQ000000", "invalid_vin_characters"),  # letter Q
        ("lsvab2at4ns00000-", "invalid_vin_characters"),
    ],
)
def test_bad_vins_are_refused_with_the_reason(value, code):
    with pytest.raises(ValidationError) as exc:
        validate_vin(value)
    assert exc.value.code == code


def test_vins_are_normalized():
    assert normalize_vin(" lsvab2at4ns000000 ") == "LSVAB2AT4NS000000"


@pytest.mark.parametrize(
    "value",
    [
        "沪A12345",  # ordinary
        "京BZ9X21",
        "苏E8K3M2",
        "沪AD12345",  # new-energy small car, D = battery electric
        "沪AFA2345",  # new-energy small car, F = hybrid, letter in 4th place
        "粤B12345D",  # new-energy large vehicle
        "京A1234学",  # driving school
        "粤Z1234港",  # Hong Kong cross-border
    ],
)
def test_valid_plates_are_accepted(value):
    validate_plate(value)


@pytest.mark.parametrize(
    "value",
    [
        "沪A1234",  # too short
        "沪A123456",  # ordinary plate with 6 digits
        "沪I12345",  # no letter I after the province
        "沪AO2345",  # no letter O
        "XA12345",  # not a province
        "沪AD123456",  # 9 characters
        "沪AX12345",  # 8 characters but X is no new-energy letter
        "",
    ],
)
def test_bad_plates_are_refused(value):
    with pytest.raises(ValidationError) as exc:
        validate_plate(value)
    assert exc.value.code == "invalid_plate"


def test_plates_are_normalized():
    assert normalize_plate("沪a·d1234 5") == "沪AD12345"
