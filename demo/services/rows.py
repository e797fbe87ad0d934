"""Rows waiting for ``bulk_create`` and the records the builder keeps beside them."""

import dataclasses
import datetime
from decimal import Decimal

from django.db import models

from crm.models import Dealership, User
from customers.models import Customer
from demo import data
from service.models import RepairOrder
from vehicles.models import Vehicle, VehicleModel

BATCH_SIZE = 2000


def numbered(role: str, number: int) -> str:
    return role if number == 1 else f"{role}{number}"


def money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


class Table:
    """Rows of one model waiting for ``bulk_create``, with the parents their foreign keys point at.

    Children are built before their parents have pks. Instead of assigning the
    parent instance (a descriptor call per row now and a check per row at
    insert), the parent waits beside the row and ``<fk>_id`` is set once the
    parent's own ``bulk_create`` has given it a pk.
    """

    def __init__(self, model: type[models.Model], *links: str) -> None:
        self.model = model
        self.rows: list[models.Model] = []
        self.parents: dict[str, list[models.Model]] = {link: [] for link in links}

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, row: models.Model, **parents: models.Model) -> None:
        self.rows.append(row)
        for link, column in self.parents.items():
            column.append(parents[link])

    def insert(self) -> None:
        for link, parents in self.parents.items():
            for row, parent in zip(self.rows, parents, strict=True):
                setattr(row, link, parent.pk)
        self.model.objects.bulk_create(self.rows, batch_size=BATCH_SIZE)


@dataclasses.dataclass
class Store:
    spec: data.StoreSpec
    dealership: Dealership
    advisors: list[User]
    # Customers who bought here, candidates to have referred a later customer.
    referrers: list[Customer] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Car:
    """A vehicle being built, with what its history needs but the table does not hold."""

    vehicle: Vehicle
    spec: data.ModelSpec
    model: VehicleModel
    km_per_day: float
    delivery_km: int
    visits: list[datetime.date] = dataclasses.field(default_factory=list)
    orders: list[RepairOrder] = dataclasses.field(default_factory=list)
