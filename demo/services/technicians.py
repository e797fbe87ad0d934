"""The workshop's technicians, and who worked which repair order."""

from demo import data
from service.models import Technician


class Technicians:
    """Each store's technicians and the technician of each closed workshop order (part of ``Builder``)."""

    def add_technicians(self) -> None:
        """A team per store (one INSERT), then each closed order of the workshop
        kinds names one of its store's technicians before the orders are written.

        Drawn from a stream of their own: the rest of the demo is the same data
        as before technicians existed."""
        with self.side_stream("technicians"):
            teams: dict[int, list[Technician]] = {}
            for store in self.stores:
                teams[store.dealership.pk] = [
                    Technician(
                        dealership=store.dealership,
                        name=self.pick(data.SURNAMES) + self.given_name(self.rng.random() < 0.9),
                        code=f"{store.spec.code.upper()}-{number:02d}",
                    )
                    for number in range(1, data.TECHNICIANS_PER_STORE + 1)
                ]
            self.technicians = Technician.objects.bulk_create([t for team in teams.values() for t in team])
            weights = data.TECHNICIAN_WEIGHTS[: data.TECHNICIANS_PER_STORE]
            for order in self.repair_orders.rows:
                if order.closed_at is not None and order.kind in data.WORKSHOP_KINDS:
                    order.technician_id = self.rng.choices(teams[order.dealership_id], weights)[0].pk
