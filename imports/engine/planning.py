"""Row planning per kind: customers, cars and orders looked up per batch and compared."""

import bisect
import datetime
from decimal import Decimal
from functools import partial

from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer
from imports import fields as F
from imports.engine.state import (
    _PAYER,
    CUSTOMER_FIELDS,
    CUSTOMER_READ,
    ORDER_COMPARED,
    ORDER_READ,
    VEHICLE_READ,
    VEHICLE_UPDATE_FIELDS,
    NewOrder,
    Plan,
    SeenCustomer,
    SeenVehicle,
)
from imports.models import ImportKind, ImportRow
from service.models import RepairLine, RepairOrder
from vehicles.models import MileageReading, Vehicle, VehicleModel
from vehicles.services import vehicle_warranty_fill


class _PlanningMixin:
    """Row planning per kind (customer, car, order) against the database and the file's state."""

    # --- planning ------------------------------------------------------------------

    def _plan(self, plans: list[Plan]) -> None:
        live = [p for p in plans if not p.refused]
        phones = {p.data["phone"] for p in live if p.data["phone"] not in self.state.customers}
        customers = self._customers_by_phone(phones)
        vins = {p.data["vin"] for p in live if "vin" in p.data and p.data["vin"] not in self.state.vehicles}
        vehicles = {}
        if vins:
            found = Vehicle.objects.filter(vin__in=vins).select_related("customer").only(*VEHICLE_READ).order_by()
            vehicles = {v.vin: v for v in found}
        readings = self._readings([v.pk for v in vehicles.values()])
        plates = {p.data["plate_number"] for p in live if "plate_number" in p.data}
        # By the plate's own index; the store is checked here (a join would let the planner scan the store).
        plate_owners = {
            plate: vin
            for plate, vin, store in Vehicle.objects.filter(plate_number__in=plates)
            .order_by()
            .values_list("plate_number", "vin", "customer__dealership_id")
            if store == self.store_id
        }
        numbers = {p.data["number"] for p in live if "number" in p.data}
        orders = (
            {
                o.number: o
                for o in RepairOrder.objects.filter(dealership_id=self.store_id, number__in=numbers)
                .only(*ORDER_READ)
                .order_by()
            }
            if numbers
            else {}
        )
        for plan in live:
            self._plan_customer(plan, customers)
            if not plan.refused and self.kind != ImportKind.CUSTOMERS:
                self._plan_vehicle(plan, vehicles, readings, plate_owners)
            if not plan.refused and self.kind == ImportKind.REPAIR_ORDERS:
                self._plan_order(plan, orders)
            self._settle(plan)
        for plan in plans:
            if plan.refused:
                plan.outcome = ImportRow.Outcome.REFUSED

    def _customers_by_phone(self, phones: set[str]) -> dict[str, Customer]:
        """The store's customer for each mobile: an active one first, then the oldest."""
        found: dict[str, Customer] = {}
        if not phones:
            return found
        rows = (
            Customer.objects.filter(dealership_id=self.store_id, phone__in=phones).order_by("pk").only(*CUSTOMER_READ)
        )
        for customer in rows:
            current = found.get(customer.phone)
            if current is None or (
                current.status != Customer.Status.ACTIVE and customer.status == Customer.Status.ACTIVE
            ):
                found[customer.phone] = customer
        return found

    @staticmethod
    def _readings(vehicle_ids: list[int]) -> dict[int, list[tuple[datetime.date, int]]]:
        by_car: dict[int, list[tuple[datetime.date, int]]] = {}
        if vehicle_ids:
            rows = MileageReading.objects.filter(vehicle_id__in=vehicle_ids).order_by("read_on", "mileage")
            for vehicle_id, day, km in rows.values_list("vehicle_id", "read_on", "mileage"):
                by_car.setdefault(vehicle_id, []).append((day, km))
        return by_car

    def _plan_customer(self, plan: Plan, customers: dict[str, Customer]) -> None:
        phone = plan.data["phone"]
        seen = self.state.customers.get(phone)
        if seen is not None:
            if self.kind == ImportKind.CUSTOMERS:
                plan.refuse(
                    _("The mobile %(phone)s is already on line %(line)d.") % {"phone": phone, "line": seen.line}
                )
            else:
                plan.customer_seen = seen
            return
        given = {k: plan.data[k] for k in CUSTOMER_FIELDS if k in plan.data}
        existing = customers.get(phone)
        if existing is None:
            if not given.get("name"):
                plan.refuse(_("The customer's name is missing (the mobile is new to the store)."))
                return
            plan.new_customer = Customer(
                dealership_id=self.store_id,
                phone=phone,
                source=Customer.Source.BOUGHT_HERE
                if self.kind != ImportKind.CUSTOMERS
                else Customer.Source.FIRST_VISIT,
                marketing_consent_at=timezone.now() if given.get("marketing_consent") else None,
                **given,
            )
            plan.actions.append(_("new customer %(name)s") % {"name": given["name"]})
        else:
            plan.customer = existing
            plan.customer_changes = {k: v for k, v in given.items() if getattr(existing, k) != v}
            if plan.customer_changes:
                names = ", ".join(str(F.FIELDS_BY_KEY[k].label) for k in plan.customer_changes)
                plan.actions.append(
                    _("customer %(name)s updated: %(fields)s") % {"name": existing.name, "fields": names}
                )
        plan.customer_seen = SeenCustomer(line=plan.line, pk=existing.pk if existing else None)
        plan.pending.append(partial(self.state.customers.__setitem__, phone, plan.customer_seen))

    def _plan_vehicle(self, plan: Plan, vehicles: dict[str, Vehicle], readings: dict, plate_owners: dict) -> None:
        vin, phone = plan.data["vin"], plan.data["phone"]
        plate = plan.data.get("plate_number")
        if plate:
            earlier = self.state.plates.get(plate)
            if earlier is not None and earlier[0] != vin:
                plan.refuse(
                    _("The plate %(plate)s is already on line %(line)d for another VIN.")
                    % {"plate": plate, "line": earlier[1]}
                )
                return
            owner_vin = plate_owners.get(plate)
            if owner_vin is not None and owner_vin != vin:
                plan.refuse(
                    _("The plate %(plate)s is on another car of the store (VIN %(vin)s).")
                    % {"plate": plate, "vin": owner_vin}
                )
                return
        seen = self.state.vehicles.get(vin)
        if seen is not None:
            if self.kind == ImportKind.VEHICLES:
                plan.refuse(_("The VIN %(vin)s is already on line %(line)d.") % {"vin": vin, "line": seen.line})
            elif seen.phone != phone:
                plan.refuse(
                    _("The VIN %(vin)s is on line %(line)d with another customer's mobile.")
                    % {"vin": vin, "line": seen.line}
                )
            else:
                plan.vehicle_seen = seen
            return
        existing = vehicles.get(vin)
        if existing is not None:
            if existing.customer.dealership_id != self.store_id:
                plan.refuse(_("The VIN %(vin)s is registered at another dealership.") % {"vin": vin})
                return
            if existing.customer.phone != phone:
                plan.refuse(
                    _("The car %(vin)s belongs to another customer (mobile ending %(end)s).")
                    % {"vin": vin, "end": existing.customer.phone[-4:]}
                )
                return
            plan.vehicle = existing
            plan.vehicle_changes = {
                k: plan.data[k]
                for k in VEHICLE_UPDATE_FIELDS
                if k in plan.data and getattr(existing, k) != plan.data[k]
            }
            if plan.vehicle_changes:
                names = ", ".join(str(F.FIELDS_BY_KEY[k].label) for k in plan.vehicle_changes)
                plan.actions.append(_("car %(vin)s updated: %(fields)s") % {"vin": vin, "fields": names})
            car_readings = readings.get(existing.pk, [])
        else:
            model = self._model(plan)
            if model is None:
                return
            purchase_date = plan.data.get("purchase_date")
            if purchase_date is None:
                plan.refuse(_("The purchase date is missing (the VIN is new)."))
                return
            plan.new_vehicle = Vehicle(
                vin=vin,
                model=model,
                purchase_date=purchase_date,
                plate_number=plate or "",
                colour=plan.data.get("colour", ""),
                engine_number=plan.data.get("engine_number", ""),
                sold_here=True,
                current_mileage=0,
                current_mileage_date=purchase_date,
            )
            vehicle_warranty_fill(plan.new_vehicle)
            plan.actions.append(_("new car %(vin)s") % {"vin": vin})
            car_readings = [(purchase_date, 0)]
        seen = SeenVehicle(line=plan.line, phone=phone, pk=existing.pk if existing else None, readings=car_readings)
        if self.kind == ImportKind.VEHICLES and "mileage" in plan.data:
            # A vehicle file's mileage is the odometer as of the upload.
            reading = (self.today, plan.data["mileage"])
            if not car_readings or reading[1] > max(km for _day, km in car_readings):
                problem = self._reading_problem(car_readings, *reading)
                if problem:
                    plan.refuse(problem)
                    return
                plan.reading = reading
                plan.actions.append(_("odometer %(km)d km") % {"km": reading[1]})
        plan.pending.append(partial(self.state.vehicles.__setitem__, vin, seen))
        if plate:
            plan.pending.append(partial(self.state.plates.__setitem__, plate, (vin, plan.line)))
        plan.vehicle_seen = seen
        if plan.reading:
            bisect.insort(seen.readings, plan.reading)

    def _model(self, plan: Plan) -> VehicleModel | None:
        text = plan.data.get("model")
        if not text:
            plan.refuse(_("The model is missing (the VIN is new)."))
            return None
        model = self.models.get(text.lower().replace(" ", ""))
        if model is None:
            plan.refuse(_("Unknown model “%(model)s”: add it to the vehicle models in admin first.") % {"model": text})
        return model

    @staticmethod
    def _reading_problem(readings: list[tuple[datetime.date, int]], day: datetime.date, km: int) -> str:
        """Why a reading of ``km`` on ``day`` does not fit the car's history, or ""."""
        before = max((k for d, k in readings if d <= day), default=None)
        after = min((k for d, k in readings if d > day), default=None)
        if before is not None and km < before:
            return _("The mileage %(km)d km is below the car's earlier reading of %(before)d km.") % {
                "km": km,
                "before": before,
            }
        if after is not None and km > after:
            return _("The mileage %(km)d km is above the car's later reading of %(after)d km.") % {
                "km": km,
                "after": after,
            }
        return ""

    def _plan_order(self, plan: Plan, orders: dict[str, RepairOrder]) -> None:
        data = plan.data
        number = data["number"]
        earlier = self.state.orders.get(number)
        if earlier is not None:
            plan.refuse(
                _("The RO number %(number)s is already on line %(line)d.") % {"number": number, "line": earlier}
            )
            return
        opened_at, closed_at = data["opened_at"], data.get("closed_at")
        if closed_at is not None and closed_at < opened_at:
            plan.refuse(_("The order closes before it opened."))
            return
        labour, parts = data.get("labor_amount", Decimal("0.00")), data.get("parts_amount", Decimal("0.00"))
        existing = orders.get(number)
        if existing is not None:
            car = plan.vehicle.pk if plan.vehicle is not None else plan.vehicle_seen.pk
            wanted = {
                "vehicle_id": car,
                "kind": data["kind"],
                "opened_at": opened_at,
                "closed_at": closed_at,
                "mileage": data["mileage"],
            }
            differs = [k for k in ORDER_COMPARED if getattr(existing, k) != wanted[k]]
            if closed_at is not None and (existing.labor_amount, existing.parts_amount) != (labour, parts):
                differs.append("amounts")
            if differs:
                plan.refuse(
                    _("The RO number %(number)s exists with other values; an import does not change orders.")
                    % {"number": number}
                )
            plan.pending.append(partial(self.state.orders.__setitem__, number, plan.line))
            return
        day = timezone.localtime(opened_at).date()
        readings = plan.vehicle_seen.readings
        problem = self._reading_problem(readings, day, data["mileage"])
        if problem:
            plan.refuse(problem)
            return
        closed = closed_at is not None
        plan.new_order = NewOrder(
            number=number,
            kind=data["kind"],
            opened_at=opened_at,
            closed_at=closed_at,
            mileage=data["mileage"],
            payer=_PAYER.get(data["kind"], RepairOrder.Payer.CUSTOMER),
            work_done=data.get("work_done", ""),
            # repair_order_close sums the done lines; an order still open shows nothing yet.
            labor_amount=labour if closed else Decimal("0"),
            parts_amount=parts if closed else Decimal("0"),
        )
        plan.order_lines = [
            (line_type, (data.get("work_done") or str(label))[:200], amount)
            for line_type, label, amount in (
                (RepairLine.LineType.LABOR, F.FIELDS_BY_KEY["labor_amount"].label, labour),
                (RepairLine.LineType.PART, F.FIELDS_BY_KEY["parts_amount"].label, parts),
            )
            if amount
        ]
        plan.reading = (day, data["mileage"])
        bisect.insort(readings, plan.reading)
        plan.pending.append(partial(self.state.orders.__setitem__, number, plan.line))
        plan.actions.append(_("new order %(number)s") % {"number": number})

    @staticmethod
    def _settle(plan: Plan) -> None:
        """The row's outcome; only a row that is not refused leaves its keys for the rows after it."""
        if not plan.refused:
            for register in plan.pending:
                register()
        if plan.refused:
            plan.outcome = ImportRow.Outcome.REFUSED
        elif plan.new_customer or plan.new_vehicle or plan.new_order:
            plan.outcome = ImportRow.Outcome.CREATED
        elif plan.customer_changes or plan.vehicle_changes or plan.reading:
            plan.outcome = ImportRow.Outcome.UPDATED
        else:
            plan.outcome = ImportRow.Outcome.UNCHANGED
