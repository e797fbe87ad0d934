"""The managers' weekly digest: every Monday at 08:00 (beat), an e-mail to each
active store manager with an e-mail address, with their own store's figures
of last week (Monday to Sunday) against the week before and against the same
ISO week a year earlier (week 53 of a year whose year before has none is
compared with week 52).

The figures come from the nightly rollups only (``DailyOrderStats``,
``DailyStoreStats``, ``DailyCareStats``): one GROUP BY per table over the
three weeks and all the stores at once, whatever the number of stores; rates
are made from the summed counts by ``analytics.scores`` (never averages of
daily rates).

The e-mail is HTML with a plain-text alternative (Django mail; ``make run``
writes it to the console). A failure to send one message is logged and
counted, and the others still go.
"""

import dataclasses
import datetime
import logging
from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import Case, CharField, Q, Sum, Value, When
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from analytics.models import DailyCareStats, DailyOrderStats, DailyStoreStats
from analytics.scores import nps_from_counts, share
from crm.models import Dealership, User

logger = logging.getLogger(__name__)

LAST, BEFORE, LAST_YEAR = "last", "before", "last_year"
PERIODS = (LAST, BEFORE, LAST_YEAR)

_STORE_FIELDS = (
    "new_customers",
    "lost_customers",
    "recovered_customers",
    "complaints",
    "csat_count",
    "csat_satisfied",
    "nps_count",
    "nps_promoters",
    "nps_detractors",
    "lapsed_nps_count",
    "lapsed_nps_promoters",
    "lapsed_nps_detractors",
    "insurance_due",
    "insurance_renewed",
    "membership_joins",
)
_CARE_FIELDS = ("generated", "reached", "booked", "arrived")


@dataclasses.dataclass(frozen=True)
class Week:
    monday: datetime.date

    @property
    def sunday(self) -> datetime.date:
        return self.monday + datetime.timedelta(days=6)

    @property
    def label(self) -> str:
        """The ISO week, e.g. 2026-W49."""
        year, week, _day = self.monday.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def span(self) -> str:
        return f"{self.monday.isoformat()} – {self.sunday.isoformat()}"


def digest_weeks(today: datetime.date) -> dict[str, Week]:
    """Last week (Monday–Sunday before ``today``'s week), the week before, and the same ISO week a year earlier."""
    last = today - datetime.timedelta(days=today.weekday() + 7)
    year, week, _day = last.isocalendar()
    try:
        a_year_ago = datetime.date.fromisocalendar(year - 1, week, 1)
    except ValueError:  # week 53, and the year before had 52
        a_year_ago = datetime.date.fromisocalendar(year - 1, 52, 1)
    return {LAST: Week(last), BEFORE: Week(last - datetime.timedelta(days=7)), LAST_YEAR: Week(a_year_ago)}


@dataclasses.dataclass(frozen=True)
class Figure:
    """One line of the digest: its value in each period, and how to print it."""

    key: str  # stable, for code and tests: "visits", "revenue", "csat"…
    label: str
    values: dict[str, int | Decimal | None]
    unit: str = "count"  # "count", "money", "rate" (a percentage), "score" (NPS)

    def _text(self, value) -> str:
        if value is None:
            return "—"
        if self.unit == "money":
            return f"{value:,.2f}"
        if self.unit == "rate":
            return f"{value}%"
        return str(value)

    def _change(self, period: str) -> str:
        now, then = self.values[LAST], self.values[period]
        if now is None or then is None:
            return "—"
        diff = now - then
        text = f"{diff:+,.2f}" if self.unit == "money" else f"{diff:+}"
        return text + (" pt" if self.unit == "rate" else "")

    @property
    def last(self) -> str:
        return self._text(self.values[LAST])

    @property
    def before(self) -> str:
        return self._text(self.values[BEFORE])

    @property
    def last_year(self) -> str:
        return self._text(self.values[LAST_YEAR])

    @property
    def change_before(self) -> str:
        return self._change(BEFORE)

    @property
    def change_last_year(self) -> str:
        return self._change(LAST_YEAR)


@dataclasses.dataclass
class StoreDigest:
    dealership: Dealership
    weeks: dict[str, Week]
    figures: list[Figure]

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.key == key)


def _period_of(weeks: dict[str, Week]) -> Case:
    return Case(
        *(When(day__range=(w.monday, w.sunday), then=Value(p)) for p, w in weeks.items()),
        output_field=CharField(),
    )


def _sums(model, fields: tuple[str, ...], *, store_ids: list[int], weeks: dict[str, Week]) -> dict:
    """{(store id, period): {field: sum}}: one GROUP BY over the three weeks."""
    in_a_week = Q()
    for week in weeks.values():
        in_a_week |= Q(day__range=(week.monday, week.sunday))
    rows = (
        model.objects.filter(in_a_week, dealership_id__in=store_ids)
        .annotate(period=_period_of(weeks))
        .order_by()
        .values("dealership_id", "period")
        .annotate(**{f"s_{name}": Sum(name) for name in fields})
    )
    return {(row["dealership_id"], row["period"]): {f: row[f"s_{f}"] or 0 for f in fields} for row in rows}


def _per_period(sums: dict, store_id: int, fields: tuple[str, ...]) -> dict[str, dict]:
    return {p: sums.get((store_id, p), dict.fromkeys(fields, 0)) for p in PERIODS}


def _store_figures(orders: dict, store: dict, care: dict) -> list[Figure]:
    def each(pick) -> dict:
        return {p: pick(p) for p in PERIODS}

    def nps_all(p):
        s = store[p]
        return nps_from_counts(
            promoters=s["nps_promoters"] + s["lapsed_nps_promoters"],
            detractors=s["nps_detractors"] + s["lapsed_nps_detractors"],
            answers=s["nps_count"] + s["lapsed_nps_count"],
        )

    return [
        Figure("visits", _("Returning visits"), each(lambda p: orders[p]["visits"])),
        Figure(
            "revenue",
            _("Revenue (yuan)"),
            each(lambda p: Decimal(orders[p]["revenue"]).quantize(Decimal("0.01"))),
            "money",
        ),
        Figure("new_customers", _("New customers"), each(lambda p: store[p]["new_customers"])),
        Figure("lost", _("Customers lost"), each(lambda p: store[p]["lost_customers"])),
        Figure("recovered", _("Customers recovered"), each(lambda p: store[p]["recovered_customers"])),
        Figure("complaints", _("Complaints received"), each(lambda p: store[p]["complaints"])),
        Figure(
            "csat",
            # xgettext:no-python-format
            _("CSAT (% satisfied)"),
            each(lambda p: share(store[p]["csat_satisfied"], store[p]["csat_count"])),
            "rate",
        ),
        Figure(
            "nps_returning",
            _("NPS of returning customers"),
            each(
                lambda p: nps_from_counts(
                    promoters=store[p]["nps_promoters"],
                    detractors=store[p]["nps_detractors"],
                    answers=store[p]["nps_count"],
                )
            ),
            "score",
        ),
        Figure("nps_all", _("NPS including lapsed customers"), each(nps_all), "score"),
        Figure(
            "nps_answers",
            _("NPS answers (returning + lapsed)"),
            each(lambda p: store[p]["nps_count"] + store[p]["lapsed_nps_count"]),
        ),
        Figure(
            "insurance_renewal",
            _("Insurance renewal rate (%)"),
            each(lambda p: share(store[p]["insurance_renewed"], store[p]["insurance_due"])),
            "rate",
        ),
        Figure("club_joins", _("Club joins"), each(lambda p: store[p]["membership_joins"])),
        Figure("care_generated", _("Care touches generated"), each(lambda p: care[p]["generated"])),
        Figure("care_reached", _("Care touches reached"), each(lambda p: care[p]["reached"])),
        Figure("care_booked", _("Care touches booked"), each(lambda p: care[p]["booked"])),
        Figure("care_arrived", _("Care touches arrived"), each(lambda p: care[p]["arrived"])),
    ]


def weekly_digest_figures(*, dealerships: list[Dealership], today: datetime.date) -> dict[int, StoreDigest]:
    """Each store's digest by store id: three queries whatever the number of stores."""
    weeks = digest_weeks(today)
    ids = [d.pk for d in dealerships]
    orders = _sums(DailyOrderStats, ("visits", "revenue"), store_ids=ids, weeks=weeks)
    store = _sums(DailyStoreStats, _STORE_FIELDS, store_ids=ids, weeks=weeks)
    care = _sums(DailyCareStats, _CARE_FIELDS, store_ids=ids, weeks=weeks)
    return {
        d.pk: StoreDigest(
            dealership=d,
            weeks=weeks,
            figures=_store_figures(
                _per_period(orders, d.pk, ("visits", "revenue")),
                _per_period(store, d.pk, _STORE_FIELDS),
                _per_period(care, d.pk, _CARE_FIELDS),
            ),
        )
        for d in dealerships
    }


def digest_recipients() -> list[User]:
    """Active store managers (of an active store) who have an e-mail address."""
    return list(
        User.objects.people()
        .filter(role=User.Role.MANAGER, is_active=True, dealership__isnull=False, dealership__is_active=True)
        .exclude(email="")
        .select_related("dealership")
        .order_by("dealership_id", "pk")
    )


@dataclasses.dataclass
class DigestReport:
    week: str
    sent: int = 0
    failed: int = 0
    stores: int = 0


def _message(manager: User, digest: StoreDigest) -> EmailMultiAlternatives:
    last = digest.weeks[LAST]
    context = {"manager": manager, "digest": digest, "weeks": digest.weeks}
    subject = _("%(store)s: last week's figures, %(week)s (%(span)s)") % {
        "store": digest.dealership.name,
        "week": last.label,
        "span": last.span,
    }
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("analytics/email/weekly_digest.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[manager.email],
    )
    message.attach_alternative(render_to_string("analytics/email/weekly_digest.html", context), "text/html")
    return message


def weekly_digest_send(*, today: datetime.date | None = None) -> DigestReport:
    """Send last week's digest to every store manager (one e-mail each, their own store)."""
    today = today or timezone.localdate()
    managers = digest_recipients()
    stores = list({m.dealership_id: m.dealership for m in managers}.values())
    report = DigestReport(week=digest_weeks(today)[LAST].label, stores=len(stores))
    if not managers:
        return report
    with translation.override(settings.LANGUAGE_CODE):
        digests = weekly_digest_figures(dealerships=stores, today=today)
        messages = [_message(manager, digests[manager.dealership_id]) for manager in managers]
    connection = get_connection()
    for message in messages:
        try:
            message.connection = connection
            report.sent += message.send()
        except OSError:  # smtplib's errors are OSErrors: log it and send the others
            logger.exception("weekly digest to %s not sent", message.to[0])
            report.failed += 1
    return report
