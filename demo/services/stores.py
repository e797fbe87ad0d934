"""The demo's stores, their staff and the model catalogue."""

from django.contrib.auth.hashers import make_password

from crm.models import Dealership, User
from demo import data
from demo.services.rows import Store, numbered
from vehicles.models import VehicleModel


class StoresAndStaff:
    """Stores, managers and advisors, and the vehicle models (part of ``Builder``)."""

    def create_stores_and_staff(self) -> None:
        dealerships = Dealership.objects.bulk_create(
            [
                Dealership(
                    code=spec.code,
                    name=spec.name,
                    city=spec.city,
                    address=spec.address,
                    booking_phone=spec.booking_phone,
                    rescue_phone=spec.rescue_phone,
                    open_weekdays=spec.open_weekdays,
                    surveys_by_other_advisor=spec.surveys_by_other_advisor,
                )
                for spec in data.STORES
            ]
        )
        # One hash for everybody: hashing is deliberately slow (PBKDF2).
        password = make_password(data.DEMO_PASSWORD)
        self.users.append(self.staff("admin", User.Role.ADMIN, None, password, is_superuser=True))
        for index, (spec, dealership) in enumerate(zip(data.STORES, dealerships, strict=True)):
            first = index * data.ADVISORS_PER_STORE + 1
            advisors = [
                self.staff(numbered("advisor", n), User.Role.ADVISOR, dealership, password)
                for n in range(first, first + data.ADVISORS_PER_STORE)
            ]
            manager = self.staff(numbered("manager", index + 1), User.Role.MANAGER, dealership, password)
            self.users.extend([*advisors, manager])
            self.stores.append(Store(spec=spec, dealership=dealership, advisors=advisors))
        User.objects.bulk_create(self.users)

    def staff(
        self, username: str, role: str, dealership: Dealership | None, password: str, *, is_superuser: bool = False
    ) -> User:
        male = self.rng.random() < 0.5
        return User(
            username=username,
            password=password,
            role=role,
            dealership=dealership,
            last_name=self.pick(data.SURNAMES),
            first_name=self.given_name(male),
            phone=self.mobile(),
            is_staff=role != User.Role.ADVISOR,
            is_superuser=is_superuser,
        )

    def load_catalogue(self) -> None:
        existing = {(m.brand, m.name): m for m in VehicleModel.objects.filter(brand__in={s.brand for s in data.MODELS})}
        missing = [
            VehicleModel(
                brand=spec.brand,
                name=spec.name,
                vehicle_class=spec.vehicle_class,
                energy=spec.energy,
                first_maintenance_km=spec.first_maintenance_km,
                first_maintenance_months=spec.first_maintenance_months,
                maintenance_interval_km=spec.maintenance_interval_km,
                maintenance_interval_months=spec.maintenance_interval_months,
                warranty_months=spec.warranty_months,
                warranty_km=spec.warranty_km,
            )
            for spec in data.MODELS
            if (spec.brand, spec.name) not in existing
        ]
        for model in VehicleModel.objects.bulk_create(missing):
            existing[model.brand, model.name] = model
        # Catalogue order, not database order, keeps the random draws stable.
        self.catalogue = [(spec, existing[spec.brand, spec.name]) for spec in data.MODELS]
