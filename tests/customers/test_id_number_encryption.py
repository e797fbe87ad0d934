from django.db import connection

from crm.fields import id_number_digest
from customers.models import Customer
from tests.crm.factories import DealershipFactory
from tests.customers.factories import CustomerFactory

ID = "310101199001011234"


def test_id_number_is_encrypted_at_rest_and_readable_in_python(db):
    customer = CustomerFactory(id_number=ID)

    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, id_number_hash FROM customers_customer WHERE id = %s", [customer.pk])
        stored, digest = cursor.fetchone()

    assert ID not in stored
    assert "1234" not in stored[-8:]  # nothing of the number leaks through the token
    assert len(digest) == 64 and ID not in digest
    assert Customer.objects.get(pk=customer.pk).id_number == ID


def test_same_number_encrypts_differently_but_hashes_the_same(db):
    a = CustomerFactory(id_number=ID)
    b = CustomerFactory(id_number=ID)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, id_number_hash FROM customers_customer ORDER BY id")
        (token_a, hash_a), (token_b, hash_b) = cursor.fetchall()
    assert token_a != token_b
    assert hash_a == hash_b
    assert set(Customer.objects.filter(id_number_hash=id_number_digest(ID))) == {a, b}


def test_hash_follows_the_number_in_bulk_inserts_and_updates(db):
    [bulk] = Customer.objects.bulk_create([CustomerFactory.build(id_number=ID, dealership=DealershipFactory())])
    assert Customer.objects.get(id_number_hash=id_number_digest(ID)).pk == bulk.pk

    bulk.id_number = "11010519491231002X"
    bulk.save()
    assert not Customer.objects.filter(id_number_hash=id_number_digest(ID)).exists()
    assert Customer.objects.get(id_number_hash=id_number_digest("11010519491231002X")).pk == bulk.pk


def test_customer_without_id_number_stores_nothing(db):
    customer = CustomerFactory(id_number="")
    fresh = Customer.objects.get(pk=customer.pk)
    assert fresh.id_number == ""
    assert fresh.id_number_hash == ""
    assert fresh.id_number_masked == ""


def test_masked_number_shows_four_and_four(db):
    assert CustomerFactory(id_number=ID).id_number_masked == "3101**********1234"
