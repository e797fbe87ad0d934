"""The demo's customers: who they are, and how they came to us."""

import datetime

from crm.validators import id_number_check_digit
from customers.models import Customer
from demo import data
from demo.services.behaviour import BEHAVIOURS, LEAD_DAYS, LOYAL, NEW, OLDEST_CAR_YEARS
from demo.services.dates import lunar_birthday
from demo.services.rows import Car, Store


class Customers:
    """Customers and their identities (part of ``Builder``)."""

    def add_customer(self) -> None:
        store = self.rng.choices(self.stores, [s.spec.weight for s in self.stores])[0]
        behaviour = self.rng.choices(BEHAVIOURS, [b.weight for b in BEHAVIOURS])[0]
        customer = self.new_customer(store)
        vehicle_count = 2 if behaviour is not NEW and self.rng.random() < 0.15 else 1
        cars = []
        for index in range(vehicle_count):
            car = self.new_car(customer, store, behaviour, sold_here=self.sold_here(customer.source, index))
            self.add_history(car, customer, store, behaviour)
            cars.append(car)
        self.finish_customer(customer, cars)
        if behaviour is LOYAL:
            self.loyal.append((customer, cars[0].vehicle, store))
        if customer.source == Customer.Source.BOUGHT_HERE:
            store.referrers.append(customer)

    def new_customer(self, store: Store) -> Customer:
        rng = self.rng
        district = rng.choices(store.spec.districts, [d.weight for d in store.spec.districts])[0]
        male = rng.random() < 0.62
        occupation = self.pick(data.OCCUPATIONS)
        born = self.birth_date(occupation)
        id_number = self.id_number(district.region_code, born, male) if rng.random() < 0.85 else ""
        birthday = born if id_number or rng.random() < 0.3 else None
        gender = Customer.Gender.MALE if male else Customer.Gender.FEMALE
        if not id_number and rng.random() < 0.1:
            gender = Customer.Gender.UNKNOWN
        source = self.pick(data.SOURCES)
        customer = Customer(
            dealership_id=store.dealership.pk,
            name=self.pick(data.SURNAMES) + self.given_name(male),
            phone=self.mobile(),
            id_number=id_number,
            gender=gender,
            occupation=occupation,
            employer=self.employer(occupation, district),
            education=self.pick(data.EDUCATION),
            income_band=self.pick(data.INCOME_BANDS),
            hobbies="、".join(rng.sample(data.HOBBIES, rng.choice((0, 0, 1, 2)))),
            province=store.spec.province,
            city=store.spec.city,
            district=district.name,
            address=self.address(store.spec, district),
            preferred_channel=self.pick(data.CHANNELS),
            birthday=birthday,
            source=source,
            advisor_id=rng.choice(store.advisors).pk,
            status=Customer.Status.ACTIVE,
        )
        if birthday and rng.random() < 0.34:
            month, day, leap = lunar_birthday(birthday)
            customer.lunar_birthday_month, customer.lunar_birthday_day, customer.lunar_birthday_leap = month, day, leap
        if source == Customer.Source.REFERRAL and store.referrers:
            self.referred_customers.add(customer, referred_by_id=rng.choice(store.referrers))
        else:
            self.customers.add(customer)
        return customer

    def given_name(self, male: bool) -> str:
        chars = data.MALE_GIVEN if male else data.FEMALE_GIVEN
        length = 2 if self.rng.random() < 0.7 else 1
        return "".join(self.rng.choice(chars) for _ in range(length))

    def birth_date(self, occupation: str) -> datetime.date:
        """Born 1960–2002, and old enough to have held a licence when the oldest cars were bought."""
        rng = self.rng
        youngest = min(2002, self.today.year - OLDEST_CAR_YEARS - 18)
        if occupation == Customer.Occupation.RETIRED:
            year = rng.randint(1960, 1964)
        elif occupation == Customer.Occupation.STUDENT:
            year = rng.randint(youngest - 3, youngest)
        else:
            year = int(rng.triangular(1960, youngest + 1, min(1984, youngest)))
        return datetime.date(year, 1, 1) + datetime.timedelta(days=rng.randrange(365))

    def id_number(self, region_code: str, born: datetime.date, male: bool) -> str:
        """18-digit ID (GB 11643): region, birth date, sequence whose last digit is odd for men, check digit."""
        while True:
            sequence = self.rng.randrange(500) * 2 + (1 if male else 0)
            first17 = f"{region_code}{born:%Y%m%d}{sequence:03d}"
            number = first17 + id_number_check_digit(first17)
            if number not in self.id_numbers:
                self.id_numbers.add(number)
                return number

    def employer(self, occupation: str, district: data.District) -> str:
        names = data.EMPLOYERS.get(occupation)
        if not names or self.rng.random() < 0.4:
            return ""
        place = district.name.removesuffix("新区").removesuffix("区").removesuffix("市")
        return place + self.rng.choice(names)

    def address(self, spec: data.StoreSpec, district: data.District) -> str:
        rng = self.rng
        road = rng.choice(district.roads)
        room = f"{rng.randint(1, 28)}{rng.randint(1, 4):02d}室"
        if spec.city == "苏州":
            return f"{road}{rng.randint(1, 999)}号{rng.choice(data.SUZHOU_ESTATES)}{rng.randint(1, 40)}幢{room}"
        return f"{road}{rng.randint(1, 2000)}弄{rng.randint(1, 60)}号{room}"

    def sold_here(self, source: str, index: int) -> bool:
        if source == Customer.Source.BOUGHT_HERE:
            return index == 0 or self.rng.random() < 0.8
        if source == Customer.Source.FIRST_VISIT:
            return False
        # Campaign leads mostly own a car from elsewhere; referrals mostly bought here.
        return self.rng.random() < (0.7 if source == Customer.Source.REFERRAL else 0.3)

    def finish_customer(self, customer: Customer, cars: list[Car]) -> None:
        visits = sorted({day for car in cars for day in car.visits})
        customer.last_visit_date = visits[-1] if visits else None
        # With us since the first car bought here or the first visit, whichever came first.
        starts = [c.vehicle.purchase_date for c in cars if c.vehicle.sold_here] + visits[:1]
        since = min(starts) if starts else self.today - datetime.timedelta(days=LEAD_DAYS)
        self.customer_since.append((customer, datetime.datetime(since.year, since.month, since.day, 8, tzinfo=self.tz)))
        if len(visits) >= 3:
            months = (visits[-1] - visits[0]).days / (len(visits) - 1) / 30.4
            customer.visit_pattern = f"平均约{months:.0f}个月回厂一次"
        if self.rng.random() < 0.7:
            customer.marketing_consent = True
            customer.marketing_consent_at = self.at(min(starts) if starts else self.days_ago(1, 30))
