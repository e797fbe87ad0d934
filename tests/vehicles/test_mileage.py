import datetime

import pytest
from django.core.exceptions import ValidationError

from vehicles.models import MileageReading, Vehicle
from vehicles.services import mileage_record


def test_readings_in_order_update_the_current_mileage(vehicle):
    mileage_record(vehicle=vehicle, read_on=datetime.date(2025, 1, 1), mileage=5000)
    mileage_record(vehicle=vehicle, read_on=datetime.date(2025, 6, 1), mileage=9000)
    fresh = Vehicle.objects.get(pk=vehicle.pk)
    assert (fresh.current_mileage, fresh.current_mileage_date) == (9000, datetime.date(2025, 6, 1))


def test_a_reading_below_an_earlier_one_is_refused_and_nothing_is_saved(vehicle):
    mileage_record(vehicle=vehicle, read_on=datetime.date(2025, 6, 1), mileage=9000)
    with pytest.raises(ValidationError) as exc:
        mileage_record(vehicle=vehicle, read_on=datetime.date(2025, 7, 1), mileage=8999)
    assert "mileage" in exc.value.message_dict
    assert MileageReading.objects.filter(vehicle=vehicle).count() == 1
    assert Vehicle.objects.get(pk=vehicle.pk).current_mileage == 9000


def test_a_back_dated_reading_must_fit_between_its_neighbours(vehicle):
    mileage_record(vehicle=vehicle, read_on=datetime.date(2025, 1, 1), mileage=5000)
    mileage_record(vehicle=vehicle, read_on=datetime.date(2025, 6, 1), mileage=9000)
    with pytest.raises(ValidationError):
        mileage_record(vehicle=vehicle, read_on=datetime.date(2025, 3, 1), mileage=9500)
    mileage_record(vehicle=vehicle, read_on=datetime.date(2025, 3, 1), mileage=7000)
    # A back-dated reading does not move the current mileage backwards.
    assert Vehicle.objects.get(pk=vehicle.pk).current_mileage == 9000


def test_same_day_equal_reading_is_allowed(vehicle):
    mileage_record(vehicle=vehicle, read_on=datetime.date(2025, 1, 1), mileage=5000)
    mileage_record(vehicle=vehicle, read_on=datetime.date(2025, 1, 1), mileage=5000)
    assert MileageReading.objects.filter(vehicle=vehicle).count() == 2
