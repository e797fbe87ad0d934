"""The demo's workshop: visits, repair orders and lines, appointments."""

import datetime
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from customers.models import Customer
from demo import data
from demo.services.behaviour import LOST, NEW, Behaviour
from demo.services.rows import Car, Store, money
from service.models import Appointment, RepairLine, RepairOrder
from vehicles.models import MileageReading, Vehicle, VehicleModel

PAYERS = {
    RepairOrder.Kind.ACCIDENT: RepairOrder.Payer.INSURER,
    RepairOrder.Kind.WARRANTY: RepairOrder.Payer.MANUFACTURER,
    RepairOrder.Kind.ACTIVITY: RepairOrder.Payer.INTERNAL,
}
# Minutes in the workshop for kinds that take longer than a maintenance.
WORK_MINUTES = {RepairOrder.Kind.REPAIR: (120, 480), RepairOrder.Kind.WARRANTY: (120, 480)}


class RepairHistory:
    """Each car's visits and repair orders (part of ``Builder``)."""

    def add_history(self, car: Car, customer: Customer, store: Store, behaviour: Behaviour) -> None:
        vehicle = car.vehicle
        delivery = MileageReading(
            read_on=vehicle.purchase_date, mileage=car.delivery_km, source=MileageReading.Source.DELIVERY
        )
        self.readings.add(delivery, vehicle_id=vehicle)
        car.visits = self.new_car_visits(car) if behaviour is NEW else self.visit_dates(car, behaviour)
        car.orders = self.repair_orders_for(car, customer, store)
        vehicle.current_mileage = car.orders[-1].mileage if car.orders else car.delivery_km
        vehicle.current_mileage_date = car.visits[-1] if car.visits else vehicle.purchase_date

    def first_maintenance_due(self, car: Car) -> datetime.date:
        """Whichever comes first: the months, or the km at this car's daily distance."""
        purchase = car.vehicle.purchase_date
        by_time = purchase + relativedelta(months=car.model.first_maintenance_months)
        by_km = purchase + datetime.timedelta(days=int(car.model.first_maintenance_km / car.km_per_day))
        return min(by_time, by_km)

    def new_car_visits(self, car: Car) -> list[datetime.date]:
        """A car bought this year: maybe accessories after delivery, maybe its first maintenance."""
        purchase = car.vehicle.purchase_date
        dates = []
        if car.vehicle.sold_here and self.rng.random() < 0.4:
            dates.append(purchase + datetime.timedelta(days=self.rng.randint(1, 20)))
        first_service = self.first_maintenance_due(car) + datetime.timedelta(days=self.rng.randint(-15, 10))
        if self.rng.random() < 0.85 and first_service > (dates[-1] if dates else purchase):
            dates.append(first_service)
        return [d for d in dates if d <= self.yesterday]

    def visit_dates(self, car: Car, behaviour: Behaviour) -> list[datetime.date]:
        """Walk back from the last visit the behaviour calls for, so the recent past is what it should be."""
        purchase = car.vehicle.purchase_date
        last = self.last_visit(car, behaviour)
        start = purchase if car.vehicle.sold_here else self.first_visit_elsewhere_bought(purchase, last)
        # Commercial cars run up the km and come in more often.
        pace = 0.6 if car.vehicle.usage == Vehicle.Usage.COMMERCIAL else 1.0
        dates = [last]
        while True:
            previous = dates[-1] - datetime.timedelta(days=int(self.rng.randint(*behaviour.gap_days) * pace))
            if previous < start + datetime.timedelta(days=30):
                break
            dates.append(previous)
        dates.reverse()
        if car.vehicle.sold_here:
            first_service = self.first_maintenance_due(car) + datetime.timedelta(days=self.rng.randint(-10, 20))
            if first_service < dates[0] - datetime.timedelta(days=45):
                dates.insert(0, first_service)
        return dates

    def last_visit(self, car: Car, behaviour: Behaviour) -> datetime.date:
        if behaviour is not LOST:
            return self.days_ago(*behaviour.last_visit_days_ago)
        purchase, warranty_end = car.vehicle.purchase_date, car.vehicle.warranty_end_date
        earliest = purchase + datetime.timedelta(days=180)
        latest = self.today - datetime.timedelta(days=behaviour.last_visit_days_ago[0])
        # Most churn follows the end of the warranty (seed 003).
        if earliest <= warranty_end <= latest and self.rng.random() < 0.6:
            last = warranty_end + datetime.timedelta(days=self.rng.randint(-120, 45))
            return min(max(last, earliest), latest)
        span = min((latest - earliest).days, behaviour.last_visit_days_ago[1] - behaviour.last_visit_days_ago[0])
        return latest - datetime.timedelta(days=self.rng.randint(0, span))

    def first_visit_elsewhere_bought(self, purchase: datetime.date, last: datetime.date) -> datetime.date:
        """A car bought elsewhere shows up here some time after its purchase."""
        span = max(60, (last - purchase).days)
        return min(last, purchase + datetime.timedelta(days=self.rng.randint(60, span)))

    def repair_orders_for(self, car: Car, customer: Customer, store: Store) -> list[RepairOrder]:
        vehicle = car.vehicle
        purchase = vehicle.purchase_date
        serviced_on, serviced_at_km, first = purchase, car.delivery_km, True
        previous_day, mileage = purchase, car.delivery_km
        orders = []
        for day in car.visits:
            # Each stretch is driven at the car's own pace, give or take a
            # quarter; adding stretches keeps the odometer from ever going back.
            mileage += int(car.km_per_day * (day - previous_day).days * self.rng.uniform(0.75, 1.25))
            previous_day = day
            kind = self.visit_kind(car, day, mileage, serviced_on, serviced_at_km, first)
            if kind == RepairOrder.Kind.MAINTENANCE:
                if first:
                    vehicle.first_maintenance_date, vehicle.first_maintenance_mileage = day, mileage
                serviced_on, serviced_at_km, first = day, mileage, False
            orders.append(self.repair_order(car, customer, store, kind, day, mileage))
            self.readings.add(
                MileageReading(read_on=day, mileage=mileage, source=MileageReading.Source.REPAIR_ORDER),
                vehicle_id=vehicle,
            )
        return orders

    def visit_kind(
        self,
        car: Car,
        day: datetime.date,
        mileage: int,
        serviced_on: datetime.date,
        serviced_at_km: int,
        first: bool,
    ) -> str:
        vehicle, model = car.vehicle, car.model
        months = model.first_maintenance_months if first else model.maintenance_interval_months
        km = model.first_maintenance_km if first else model.maintenance_interval_km
        # A visit close to either limit is used for the maintenance.
        due = (day - serviced_on).days >= months * 30.4 * 0.7 or mileage - serviced_at_km >= km * 0.7
        if due and self.rng.random() < 0.92:
            return RepairOrder.Kind.MAINTENANCE
        if vehicle.sold_here and (day - vehicle.purchase_date).days <= 30:
            # Film, mats and a dash cam in the weeks after delivery.
            return RepairOrder.Kind.ACCESSORY
        kind = self.pick(data.OTHER_KINDS)
        in_warranty = day <= vehicle.warranty_end_date and mileage <= vehicle.warranty_end_km
        if kind == RepairOrder.Kind.WARRANTY and not in_warranty:
            return RepairOrder.Kind.REPAIR
        return kind

    def repair_order(
        self, car: Car, customer: Customer, store: Store, kind: str, day: datetime.date, mileage: int
    ) -> RepairOrder:
        rng = self.rng
        opened_at = self.at(day, earliest=8 * 60 + 30, latest=16 * 60 + 30)
        closed_at = opened_at + self.duration(kind)
        labour, parts = self.amounts(kind, car.spec)
        order = RepairOrder(
            dealership_id=store.dealership.pk,
            number=self.ro_number(store, day),
            advisor_id=customer.advisor_id if rng.random() < 0.85 else rng.choice(store.advisors).pk,
            kind=kind,
            opened_at=opened_at,
            # Work still in the bay on ``today`` is an open order.
            closed_at=closed_at if closed_at < self.start_of_today else None,
            mileage=mileage,
            payer=PAYERS.get(kind, RepairOrder.Payer.CUSTOMER),
            labor_amount=money(labour),
            parts_amount=money(parts),
            total_amount=money(labour + parts),
        )
        lines = self.lines(kind, car, labour, parts)
        order.work_done = "；".join(line.description for line in lines if line.status == RepairLine.Status.DONE)
        self.repair_orders.add(order, vehicle_id=car.vehicle, customer_id=customer)
        for line in lines:
            self.repair_lines.add(line, repair_order_id=order)
        return order

    def duration(self, kind: str) -> datetime.timedelta:
        if kind in (RepairOrder.Kind.ACCIDENT, RepairOrder.Kind.BODYWORK):
            # Body and paint work keeps the car for days.
            return datetime.timedelta(days=self.rng.randint(0, 5), minutes=self.rng.randint(120, 480))
        low, high = WORK_MINUTES.get(kind, (60, 180))
        return datetime.timedelta(minutes=self.rng.randint(low, high))

    def amounts(self, kind: str, spec: data.ModelSpec) -> tuple[int, int]:
        """Labour (whole tens of yuan) and parts, both in cents; never both zero."""
        (labour_low, labour_high), (parts_low, parts_high) = data.AMOUNTS[kind]
        labour = round(self.rng.randint(labour_low, labour_high) * spec.price_factor / 10) * 1000
        parts = int(self.rng.randint(parts_low * 100, parts_high * 100) * spec.price_factor)
        if labour + parts == 0:
            labour = 5000
        return labour, parts

    def ro_number(self, store: Store, day: datetime.date) -> str:
        key = (store.spec.code, day)
        self.ro_numbers[key] += 1
        return f"RO{store.spec.code.upper()}{day.year}{day.month:02d}{day.day:02d}{self.ro_numbers[key]:03d}"

    def lines(self, kind: str, car: Car, labour: int, parts: int) -> list[RepairLine]:
        """A labour line and one or two part lines that add up to the order's amounts."""
        rng = self.rng
        electric = car.model.energy == VehicleModel.Energy.ELECTRIC
        catalogue = "maintenance_ev" if kind == RepairOrder.Kind.MAINTENANCE and electric else kind
        lines = []
        if labour:
            lines.append(self.line(data.LABOUR_LINES[catalogue], RepairLine.LineType.LABOR, labour))
        if parts:
            split = [parts]
            if parts >= 2 and rng.random() < 0.15:
                first = min(max(parts * rng.randint(30, 70) // 100, 1), parts - 1)
                split = [first, parts - first]
            for description, amount in zip(rng.sample(data.PART_LINES[catalogue], len(split)), split, strict=True):
                lines.append(self.line(description, RepairLine.LineType.PART, amount))
        if rng.random() < 0.1:
            description, quote = rng.choice(data.DECLINED_WORK)
            lines.append(
                RepairLine(
                    line_type=RepairLine.LineType.PART,
                    description=description,
                    amount=Decimal("0.00"),
                    quoted_amount=Decimal(round(quote * car.spec.price_factor)).quantize(Decimal("0.01")),
                    status=RepairLine.Status.DECLINED,
                )
            )
        return lines

    @staticmethod
    def line(description: str, line_type: str, cents: int) -> RepairLine:
        return RepairLine(
            line_type=line_type,
            description=description,
            amount=money(cents),
            status=RepairLine.Status.DONE,
        )


class Appointments:
    """Today's and the coming days' appointments (part of ``Builder``)."""

    def add_appointments(self) -> None:
        """Some loyal customers have booked their next visit within the fortnight."""
        rng = self.rng
        for customer, vehicle, store in self.loyal:
            if rng.random() >= 0.1:
                continue
            day = self.today + datetime.timedelta(days=rng.randint(1, 14))
            slot = rng.randint(0, 14)  # half-hour slots from 09:00
            kind = RepairOrder.Kind.MAINTENANCE if rng.random() < 0.8 else RepairOrder.Kind.REPAIR
            self.appointments.add(
                Appointment(
                    dealership_id=store.dealership.pk,
                    advisor_id=customer.advisor_id,
                    scheduled_at=datetime.datetime(
                        day.year, day.month, day.day, 9 + slot // 2, 30 * (slot % 2), tzinfo=self.tz
                    ),
                    kind=kind,
                    status=Appointment.Status.BOOKED,
                    notes=rng.choice(data.APPOINTMENT_NOTES[kind]),
                ),
                customer_id=customer,
                vehicle_id=vehicle,
            )
