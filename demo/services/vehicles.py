"""The demo's cars: models, VINs, plates, how far they are driven."""

import datetime

from dateutil.relativedelta import relativedelta

from crm.validators import vin_check_digit
from customers.models import Customer
from demo import data
from demo.services.behaviour import Behaviour
from demo.services.dates import inspection_due, next_anniversary
from demo.services.rows import Car, Store
from vehicles.models import Vehicle, VehicleModel

NEW_ENERGY = (VehicleModel.Energy.ELECTRIC, VehicleModel.Energy.PLUGIN)
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, no O


class Vehicles:
    """Cars for the customers (part of ``Builder``)."""

    def new_car(self, customer: Customer, store: Store, behaviour: Behaviour, *, sold_here: bool) -> Car:
        rng = self.rng
        choices = [(s, m) for s, m in self.catalogue if not sold_here or s.brand in store.spec.brands]
        spec, model = rng.choices(choices, [s.weight for s, _ in choices])[0]
        purchase = self.today - datetime.timedelta(days=self.car_age(behaviour))
        usage = self.usage(customer.occupation)
        vehicle = Vehicle(
            vin=self.vin(spec, purchase.year),
            model_id=model.pk,
            plate_number=self.plate(store.spec, model.energy),
            engine_number=f"{spec.engine_prefix}{rng.randrange(10**6):06d}",
            colour=self.pick(data.COLOURS),
            purchase_date=purchase,
            sold_here=sold_here,
            usage=usage,
            status=Vehicle.Status.ACTIVE,
            warranty_end_date=purchase + relativedelta(months=model.warranty_months),
            warranty_end_km=model.warranty_km,
            insurance_expiry_date=next_anniversary(purchase, after=self.today),
            insurer=self.pick(data.INSURERS) if rng.random() < 0.85 else "",
            inspection_due_date=inspection_due(purchase, usage, today=self.today),
        )
        self.vehicles.add(vehicle, customer_id=customer)
        return Car(
            vehicle=vehicle,
            spec=spec,
            model=model,
            km_per_day=self.km_per_day(usage),
            delivery_km=rng.randint(0, 50),
        )

    def car_age(self, behaviour: Behaviour) -> int:
        """Days since purchase, leaning young: older cars drift away from the dealer's workshop."""
        low, high = behaviour.car_age_days
        return int(self.rng.triangular(low, high, low + (high - low) // 5))

    def usage(self, occupation: str) -> str:
        if occupation == Customer.Occupation.DRIVER and self.rng.random() < 0.8:
            return Vehicle.Usage.COMMERCIAL
        return self.pick(data.USAGES)

    def km_per_day(self, usage: str) -> float:
        if usage == Vehicle.Usage.COMMERCIAL:
            return self.rng.uniform(100, 250)
        if usage == Vehicle.Usage.OFFICIAL:
            return self.rng.uniform(30, 90)
        return self.rng.triangular(15, 120, 35)

    def vin(self, spec: data.ModelSpec, year: int) -> str:
        """WMI + descriptor + check digit + model year + plant + a serial that only grows per model."""
        key = spec.wmi + spec.vds
        if key not in self.vin_serials:
            self.vin_serials[key] = self.rng.randint(100000, 300000)
        self.vin_serials[key] += self.rng.randint(1, 20)
        year_code = data.VIN_YEAR_CODES[(year - 1980) % 30]
        body = f"{spec.wmi}{spec.vds}0{year_code}{spec.plant}{self.vin_serials[key]:06d}"
        return body[:8] + vin_check_digit(body) + body[9:]

    def plate(self, spec: data.StoreSpec, energy: str) -> str:
        rng = self.rng
        while True:
            prefix = spec.plate_province + rng.choice(spec.plate_letters)
            if energy in NEW_ENERGY:
                # Small new-energy plates: D for battery electric, F for the rest, then five digits.
                kind = "D" if energy == VehicleModel.Energy.ELECTRIC else "F"
                plate = f"{prefix}{kind}{rng.randrange(10**5):05d}"
            else:
                plate = prefix + self.ordinary_plate_tail()
            if plate not in self.plates:
                self.plates.add(plate)
                return plate

    def ordinary_plate_tail(self) -> str:
        chars = [str(self.rng.randrange(10)) for _ in range(5)]
        letters = self.rng.choices((0, 1, 2), (60, 30, 10))[0]
        for position in self.rng.sample(range(5), letters):
            chars[position] = self.rng.choice(PLATE_LETTERS)
        return "".join(chars)
