"""The demo's membership club: three years of members, as the club would have
run them, through the loyalty services.

The club's night (``loyalty.services.loyalty_nightly``) is replayed over the
last three years: every ``renewal_window_days`` (the look-back of the buyers'
join, so no car sold here is missed), then every night of the last fortnight
and the demo's today. Between nights, what the desks did on those days
happens first, each through its service: customers pay to join on a visit
(``card_join``), a few ask for their fee back within the month
(``card_refund``), members renew in the window before expiry (``card_renew``;
the others lapse at night), the referrals the demo's customers made are
recorded (``referral_record``) and their free service picked, each store
holds a club event with registrations and attendance (``event_create``,
``event_register``, ``event_attend``), a manager names one gold member for a
special contribution (``card_upgrade``) and members use their benefits at the
desk (``benefit_redeem``). The night does the rest: buyers join, points are
earned from the history and corrected, cards move up, and lapse.

A fixed number of statements per night; the desk's actions are a loop over
the few customers they concern, never over all of them: the joins, renewals
and referrals a few in a hundred customers, the events' guests and the
benefits used a fixed few per store. It draws from a stream of its own (``Builder.side_stream``),
after everything else, so the rows built before are the same for the seed.
"""

import datetime
import itertools
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.db.models.functions import Coalesce

from crm.models import User
from customers.models import Customer
from loyalty.desk_services import event_attend
from loyalty.events_services import RewardService, event_cancel_registration, event_create, event_register
from loyalty.events_services import referral_choose_reward as choose_reward
from loyalty.models import BenefitAllowance, EventRegistration, Level, MembershipCard, Referral
from loyalty.services import (
    add_years,
    benefit_redeem,
    card_join,
    card_refund,
    card_renew,
    card_upgrade,
    card_year_start,
    loyalty_nightly,
    policy_for,
    referral_record,
)
from service.models import RepairOrder
from vehicles.models import Vehicle

Status = MembershipCard.Status
Route = MembershipCard.Route

REPLAY_YEARS = 3
DAILY_NIGHTS = 7
# Who pays to join on a visit: more of those who did not buy their car here.
FEE_SHARE = {True: 0.02, False: 0.07}
SILVER_SHARE = 0.3  # of those who pay, the share taking the dearer silver card
REFUND_EVERY = 8  # one paid card in this many is handed back within the month
RENEW_SHARE = 0.55  # of the cards reaching their expiry
REFERRAL_SHARE = 0.7  # of the demo's introductions in the replayed years, recorded in the club
REWARD_PICKED_SHARE = 0.6
BENEFIT_USES = 5  # per store: members who used a benefit at the desk lately
GUESTS = 8  # registrations of each store's past event
UPCOMING_GUESTS = 3
ATTENDED_SHARE = 0.8
CANCELLED_SHARE = 0.1
EVENTS = (
    ("冬季用车安全讲座", "防冻液、电瓶与轮胎：技师现场讲解冬季用车要点，会员免费检测。"),
    ("车主自驾游：太湖环线", "一日自驾，沿途补给与拍照，名额有限。"),
    ("亲子洗车日", "带上孩子一起洗车，会员赠送车内精洗一次。"),
    ("新能源车主沙龙", "充电、保养与电池质保，工程师答疑。"),
    ("春季保养开放日", "到店免费检查 20 项，配件会员价。"),
)
REFUND_REASONS = ("客户改变主意", "已转到其他城市", "家人已有会员卡")
SPECIAL_REASON = "俱乐部年度推荐人：带动多位车主入会"


def club_history(builder) -> None:
    with builder.side_stream("club"):
        Club(builder).run()


class Club:
    def __init__(self, builder) -> None:
        self.b = builder
        self.rng = builder.rng
        self.today = builder.today
        self.start = add_years(self.today, -REPLAY_YEARS)
        self.advisors = {store.dealership.pk: store.advisors for store in builder.stores}
        self.managers = {u.dealership_id: u for u in builder.users if u.role == User.Role.MANAGER}
        # (day, sequence, action): what the desks do, run in order before each night.
        self.actions: list[tuple[datetime.date, int, object]] = []
        self.sequence = itertools.count()
        self.paid_cards: dict[int, MembershipCard] = {}

    # --- Time ----------------------------------------------------------------------------------
    def at(self, day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
        return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.b.tz)

    def later(self, day: datetime.date, action) -> None:
        self.actions.append((day, next(self.sequence), action))

    def nights(self) -> list[datetime.date]:
        """Every ``renewal_window_days`` from three years ago, then the last fortnight nightly."""
        step = datetime.timedelta(
            days=max(1, min(policy_for(s.dealership.pk).renewal_window_days for s in self.b.stores))
        )
        daily_from = self.today - datetime.timedelta(days=DAILY_NIGHTS - 1)
        nights, day = [], self.start
        while day < daily_from:
            nights.append(day)
            day += step
        return nights + [daily_from + datetime.timedelta(days=n) for n in range(DAILY_NIGHTS)]

    def night_now(self, day: datetime.date) -> datetime.datetime:
        # A past night runs late that evening; today's before anything happened today.
        return self.b.now if day >= self.today else self.at(day, 23, 30)

    # --- The replay ----------------------------------------------------------------------------
    def run(self) -> None:
        self.plan_fee_joins()
        self.plan_referrals()
        self.plan_events()
        self.later(self.today - datetime.timedelta(days=3), self.special_gold)
        self.actions.sort(key=lambda action: (action[0], action[1]))
        pending = iter(self.actions)
        action = next(pending, None)
        previous = None
        for night in self.nights():
            while action is not None and action[0] <= night:
                action[2]()
                action = next(pending, None)
            if previous is not None:
                self.renewals(previous, night)
            loyalty_nightly(day=night, now=self.night_now(night))
            previous = night
        self.rewards_picked()
        self.benefits_used()

    # --- Joining by fee, and a few refunds -------------------------------------------------------
    def plan_fee_joins(self) -> None:
        """On one of their visits in the replayed years, some customers pay to join."""
        since = self.at(self.start, 0)
        visits: dict[int, list[datetime.date]] = defaultdict(list)
        for customer_id, closed in (
            RepairOrder.objects.filter(closed_at__gte=since, voided_at__isnull=True)
            .order_by("customer_id", "closed_at")
            .values_list("customer_id", "closed_at")
        ):
            visits[customer_id].append(closed.astimezone(self.b.tz).date())
        bought_here = set(Vehicle.objects.filter(sold_here=True).values_list("customer_id", flat=True))
        chosen = [
            (customer_id, days)
            for customer_id, days in sorted(visits.items())
            if self.rng.random() < FEE_SHARE[customer_id in bought_here]
        ]
        customers = Customer.objects.in_bulk([customer_id for customer_id, _ in chosen])
        for n, (customer_id, days) in enumerate(chosen):
            day = self.rng.choice(days)
            if day >= self.today:
                continue
            customer = customers[customer_id]
            level = Level.SILVER if self.rng.random() < SILVER_SHARE else Level.ORDINARY
            self.later(day, lambda c=customer, d=day, lv=level: self.join(c, d, lv))
            if n % REFUND_EVERY == REFUND_EVERY - 1:
                back = day + datetime.timedelta(days=self.rng.randint(2, 25))
                if back < self.today:
                    self.later(back, lambda c=customer, d=back: self.refund(c, d))

    def join(self, customer: Customer, day: datetime.date, level: str) -> None:
        advisor = self.rng.choice(self.advisors[customer.dealership_id])
        try:
            card = card_join(
                customer=customer, level=level, route=Route.FEE, by=advisor, day=day, now=self.at(day, 17, 40)
            )
        except ValidationError:
            return  # already a member (a car bought here made them one)
        self.paid_cards[customer.pk] = card

    def refund(self, customer: Customer, day: datetime.date) -> None:
        card = self.paid_cards.pop(customer.pk, None)
        if card is None:
            return
        try:
            card_refund(
                card=card,
                by=self.managers[customer.dealership_id],
                day=day,
                reason=self.rng.choice(REFUND_REASONS),
                now=self.at(day, 10, 15),
            )
        except ValidationError:
            return  # upgraded meanwhile: nothing to hand back

    # --- Renewals ----------------------------------------------------------------------------
    def renewals(self, previous: datetime.date, night: datetime.date) -> None:
        """Cards whose last valid day falls before tonight lapse tonight, unless renewed in their window."""
        expiring = MembershipCard.objects.filter(
            status=Status.ACTIVE, valid_until__gte=previous, valid_until__lt=night
        ).order_by("valid_until", "pk")
        window = policy_for(self.b.stores[0].dealership.pk).renewal_window_days
        for card in expiring:
            if self.rng.random() >= RENEW_SHARE:
                continue
            day = card.valid_until - datetime.timedelta(days=self.rng.randint(0, max(window - 1, 0)))
            advisor = self.rng.choice(self.advisors[card.dealership_id])
            try:
                card_renew(card=card, by=advisor, day=day, now=self.at(day, 11, 20))
            except ValidationError:
                continue

    # --- Referrals ----------------------------------------------------------------------------
    def plan_referrals(self) -> None:
        """The demo's introductions (``referred_by``) of the replayed years, recorded at the desk a
        few days before the friend first came; the night confirms and rewards them."""
        first = self.at(self.start + datetime.timedelta(days=30), 0)
        referred = list(
            Customer.objects.filter(referred_by__isnull=False, created_at__gte=first, created_at__lt=self.b.now)
            .select_related("referred_by")
            .order_by("created_at", "pk")
        )
        for customer in referred:
            if self.rng.random() >= REFERRAL_SHARE:
                continue
            came = customer.created_at.astimezone(self.b.tz).date()
            day = came - datetime.timedelta(days=self.rng.randint(1, 20))
            self.later(day, lambda c=customer, d=day: self.refer(c, d))

    def refer(self, customer: Customer, day: datetime.date) -> None:
        advisor = self.rng.choice(self.advisors[customer.dealership_id])
        try:
            referral_record(referrer=customer.referred_by, referred=customer, by=advisor, now=self.at(day, 15, 10))
        except ValidationError:
            return

    def rewards_picked(self) -> None:
        for referral in Referral.objects.filter(status=Referral.Status.REWARDED).order_by("rewarded_at", "pk"):
            if self.rng.random() < REWARD_PICKED_SHARE:
                advisor = self.rng.choice(self.advisors[referral.dealership_id])
                choose_reward(referral=referral, service=self.rng.choice(RewardService.values), by=advisor)

    # --- Club events -----------------------------------------------------------------------------
    def plan_events(self) -> None:
        """Each store: one event a few weeks ago, worked through, and one coming up."""
        titles = list(EVENTS)
        self.rng.shuffle(titles)
        for index, store in enumerate(self.b.stores):
            past = self.today - datetime.timedelta(days=self.rng.randint(15, 45))
            coming = self.today + datetime.timedelta(days=self.rng.randint(6, 20))
            for starts, guests, (title, description) in (
                (past, GUESTS, titles[(2 * index) % len(titles)]),
                (coming, UPCOMING_GUESTS, titles[(2 * index + 1) % len(titles)]),
            ):
                # Announced two or three weeks ahead (by the day before today at the latest), guests
                # registered in the last week before it (or by yesterday).
                before = self.b.yesterday - datetime.timedelta(days=1)
                created = min(starts - datetime.timedelta(days=self.rng.randint(14, 21)), before)
                invited = starts - datetime.timedelta(days=self.rng.randint(2, 7))
                invited = min(max(invited, created + datetime.timedelta(days=1)), self.b.yesterday)
                event = {}
                store_id = store.dealership.pk

                def create(store=store, starts=starts, title=title, description=description, created=created, e=event):
                    e["event"] = event_create(
                        dealership=store.dealership,
                        title=title,
                        description=description,
                        starts_at=self.at(starts, 14),
                        capacity=30,
                        by=self.managers[store.dealership.pk],
                        now=self.at(created, 9, 30),
                    )

                self.later(created, create)
                self.later(invited, lambda e=event, n=guests, d=invited, s=store_id: self.register(e, n, d, s))
                if starts < self.today:
                    self.later(starts, lambda e=event, d=starts, s=store_id: self.attend(e, d, s))

    def register(self, event: dict, guests: int, day: datetime.date, store_id: int) -> None:
        # Members first (the invitation goes to them), then other customers an advisor brings along.
        members = list(
            MembershipCard.objects.filter(dealership_id=store_id, status=Status.ACTIVE)
            .order_by("pk")
            .values_list("customer_id", flat=True)
        )
        picked = self.rng.sample(members, min(guests - guests // 4, len(members)))
        others = list(
            Customer.objects.filter(dealership_id=store_id)
            .exclude(pk__in=members)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        picked += self.rng.sample(others, min(guests - len(picked), len(others)))
        chosen = Customer.objects.in_bulk(picked)
        for customer_id in sorted(chosen):
            source = EventRegistration.Source.SMS_LINK if self.rng.random() < 0.3 else EventRegistration.Source.ADVISOR
            by = None if source == EventRegistration.Source.SMS_LINK else self.rng.choice(self.advisors[store_id])
            event_register(
                event=event["event"], customer=chosen[customer_id], by=by, source=source, now=self.at(day, 16, 5)
            )

    def attend(self, event: dict, day: datetime.date, store_id: int) -> None:
        for registration in EventRegistration.objects.filter(event=event["event"]).order_by("pk"):
            roll = self.rng.random()
            by = self.rng.choice(self.advisors[store_id])
            if roll < ATTENDED_SHARE:
                event_attend(registration=registration, by=by, now=self.at(day, 14, self.rng.randint(0, 25)))
            elif roll < ATTENDED_SHARE + CANCELLED_SHARE:
                event_cancel_registration(registration=registration, by=by, now=self.at(day, 9))
            # The others did not come: still registered.

    # --- A manager's gold, and the desk's benefits -------------------------------------------------
    def special_gold(self) -> None:
        """The first store's manager makes its silver member with the most points gold."""
        store_id = self.b.stores[0].dealership.pk
        card = (
            MembershipCard.objects.filter(dealership_id=store_id, status=Status.ACTIVE, level=Level.SILVER)
            .annotate(balance=Coalesce(Sum("points__points"), 0))
            .order_by("-balance", "pk")
            .first()
        )
        if card is None:
            return
        day = self.today - datetime.timedelta(days=3)
        card_upgrade(
            card=card,
            level=Level.GOLD,
            route=Route.SPECIAL,
            by=self.managers[store_id],
            day=day,
            reason=SPECIAL_REASON,
            now=self.at(day, 16),
        )

    def benefits_used(self) -> None:
        """Washes, an alignment, some towing: at the desk in the card's current year."""
        counted = defaultdict(dict)
        for policy_id, level, benefit, allowance in BenefitAllowance.objects.filter(
            allowance__isnull=False, allowance__gt=0
        ).values_list("policy_id", "level", "benefit", "allowance"):
            counted[(policy_id, level)][benefit] = allowance
        cards = list(MembershipCard.objects.filter(status=Status.ACTIVE, valid_from__lt=self.today).order_by("pk"))
        policies = {store.dealership.pk: policy_for(store.dealership.pk).pk for store in self.b.stores}
        by_store = defaultdict(list)
        for card in cards:
            by_store[card.dealership_id].append(card)
        chosen = []
        for store in self.b.stores:
            members = by_store[store.dealership.pk]
            chosen += self.rng.sample(members, min(BENEFIT_USES, len(members)))
        for card in sorted(chosen, key=lambda c: c.pk):
            allowances = counted.get((policies[card.dealership_id], card.level), {})
            if not allowances:
                continue
            benefit = self.rng.choice(sorted(allowances)) if self.rng.random() < 0.3 else "wash"
            if benefit not in allowances:
                continue
            quantity = self.rng.randint(5, allowances[benefit]) if benefit == "towing_km" else 1
            year = card_year_start(card, self.b.yesterday)
            first = max(year, self.today - datetime.timedelta(days=90))
            day = first + datetime.timedelta(days=self.rng.randint(0, max((self.b.yesterday - first).days, 0)))
            advisor = self.rng.choice(self.advisors[card.dealership_id])
            try:
                benefit_redeem(
                    card=card, benefit=benefit, quantity=quantity, by=advisor, day=day, now=self.at(day, 10, 30)
                )
            except ValidationError:
                continue
