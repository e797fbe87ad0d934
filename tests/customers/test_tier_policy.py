"""The tier policy rows: one for the group (made by the migrations), at most one per store."""

import pytest
from django.db import IntegrityError, transaction

from customers.models import TierPolicy
from tests.crm.factories import DealershipFactory


def test_the_group_has_exactly_one_policy(db):
    assert TierPolicy.objects.filter(dealership=None).count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        TierPolicy.objects.create(dealership=None)


def test_each_store_has_at_most_one_policy_of_its_own(db):
    store = DealershipFactory()
    TierPolicy.objects.create(dealership=store, complaint_penalty=7)
    with pytest.raises(IntegrityError), transaction.atomic():
        TierPolicy.objects.create(dealership=store)
    assert TierPolicy.objects.count() == 2
