"""The demo generator run by hand and by its command on an empty database:
bounded queries, the command's options and its refusals. The checks of the
seeded data share one seed in test_seed_demo.py."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Dealership
from customers.models import Customer
from demo.services import demo_reset, seed_demo
from tests.demo.test_seed_demo import SEED, TODAY, N


def test_seeding_uses_a_bounded_number_of_queries(db):
    counts = {}
    for customers in (N, 3 * N):
        demo_reset()
        with CaptureQueriesContext(connection) as queries:
            summary = seed_demo(customers=customers, seed=SEED, today=TODAY)
        counts[customers] = (len(queries), sum(summary.as_dict().values()))
    (small_queries, small_rows), (big_queries, big_rows) = counts[N], counts[3 * N]
    # bulk_create in batches: one query per many rows (SQLite caps a batch at 999 parameters);
    # the year of recomputes costs statements per store and month, not per customer.
    assert big_queries - small_queries < (big_rows - small_rows) / 20, counts


def test_command_seeds_an_empty_database_and_prints_the_logins(db):
    out = io.StringIO()

    call_command("seed_demo", "--customers", "12", "--today", "2025-06-15", "--seed", "5", stdout=out)

    assert Customer.objects.count() == 12
    assert Dealership.objects.count() == 3
    output = out.getvalue()
    assert "12 customers" in output
    assert "advisor" in output and "manager" in output and "admin" in output and "demo1234" in output


def test_if_empty_seeds_an_empty_database(db):
    call_command("seed_demo", "--customers", "5", "--if-empty", "--today", "2025-06-15", stdout=io.StringIO())

    assert Customer.objects.count() == 5


def test_command_rejects_a_malformed_date_and_a_customer_count_below_one(db):
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("seed_demo", "--today", "15/06/2025")
    with pytest.raises(CommandError, match="at least 1"):
        call_command("seed_demo", "--customers", "0")
    assert not Dealership.objects.exists()
