"""Festival greetings.

Each festival has a code (used in ``params`` and in the occasion
``holiday:<code>:<year>``), a Chinese name (put in the touch's subject), a date
rule and an audience:

=================  ========  =================================  ==========================
code               name      date                               for
=================  ========  =================================  ==========================
new_year           元旦      1 January                          everyone
spring_festival    春节      lunar 1/1                          everyone
lantern            元宵节    lunar 1/15                         everyone
womens_day         妇女节    8 March                            women
qingming           清明节    the solar term 清明 (4–5 April)    everyone
labour_day         劳动节    1 May                              everyone
mothers_day        母亲节    second Sunday of May               women
dragon_boat        端午节    lunar 5/5                          everyone
fathers_day        父亲节    third Sunday of June               men
teachers_day       教师节    10 September                       occupation ``teacher``
mid_autumn         中秋节    lunar 8/15                         everyone
national_day       国庆节    1 October                          everyone
double_ninth       重阳节    lunar 9/9                          60 or older on the day
=================  ========  =================================  ==========================

Qixi is deliberately not a greeting occasion. Double Ninth needs the solar
birthday: customers without one are not greeted (their age is unknown).

``params``:
- ``festivals``: the codes to greet, default all; unknown codes are logged
  and ignored.
- ``tier_a_subject_suffix``: the richer greeting for value tier A, appended to
  the subject as ``"春节 · 电子贺卡+礼品卡"``; default ``电子贺卡+礼品卡``, and
  an empty string gives tier A the plain greeting.

The occasion's year is the solar year of the festival; the lunar festivals
here (months 1–9) always fall in the solar year of their lunar year.

Dates come from lunar-python (lunar festivals, the 清明 term) or from the
weekday arithmetic of the solar calendar, never from a hand table. Every
festival falling in the window (a long lead can hold several, e.g. New Year's
Day and Spring Festival) is its own touch: each occurrence gets its own queryset
of the fanned-out customer rows (see care.kinds.birthday).
"""

import dataclasses
import datetime
import functools
import logging
from collections.abc import Callable

from django.db.models import Case, CharField, Q, Value, When
from django.db.models.functions import Concat
from django.utils.translation import gettext_lazy
from lunar_python import Solar

from care.calendar import lunar_to_solar
from care.kinds.base import Run, Touch, touches_querysets, window
from care.registry import KindSpec, Param, register
from customers.models import Customer

logger = logging.getLogger(__name__)

DEFAULT_TIER_A_SUFFIX = "电子贺卡+礼品卡"
SUBJECT_SEPARATOR = " · "
SENIOR_AGE = 60


def _lunar(month: int, day: int) -> Callable[[int], datetime.date]:
    return lambda year: lunar_to_solar(year, month, day)


def _solar(month: int, day: int) -> Callable[[int], datetime.date]:
    return lambda year: datetime.date(year, month, day)


def _nth_sunday(month: int, n: int) -> Callable[[int], datetime.date]:
    def date(year: int) -> datetime.date:
        first = datetime.date(year, month, 1)
        first_sunday = first + datetime.timedelta(days=(6 - first.weekday()) % 7)
        return first_sunday + datetime.timedelta(weeks=n - 1)

    return date


@functools.cache
def _qingming(year: int) -> datetime.date:
    # The term table of the lunar year around mid-year holds that solar year's 清明.
    term = Solar.fromYmd(year, 6, 1).getLunar().getJieQiTable()["清明"]
    return datetime.date(term.getYear(), term.getMonth(), term.getDay())


def _everyone(when: datetime.date) -> Q:
    return Q()


def _women(when: datetime.date) -> Q:
    return Q(gender=Customer.Gender.FEMALE)


def _men(when: datetime.date) -> Q:
    return Q(gender=Customer.Gender.MALE)


def _teachers(when: datetime.date) -> Q:
    return Q(occupation=Customer.Occupation.TEACHER)


def _seniors(when: datetime.date) -> Q:
    # 60 on the day or older: born on or before the same day 60 years back
    # (festival dates here are never 29 February).
    return Q(birthday__lte=when.replace(year=when.year - SENIOR_AGE))


@dataclasses.dataclass(frozen=True)
class Festival:
    code: str
    name: str
    date: Callable[[int], datetime.date]  # solar year → the festival's date in it
    audience: Callable[[datetime.date], Q] = _everyone


FESTIVALS = {
    f.code: f
    for f in [
        Festival("new_year", "元旦", _solar(1, 1)),
        Festival("spring_festival", "春节", _lunar(1, 1)),
        Festival("lantern", "元宵节", _lunar(1, 15)),
        Festival("womens_day", "妇女节", _solar(3, 8), _women),
        Festival("qingming", "清明节", _qingming),
        Festival("labour_day", "劳动节", _solar(5, 1)),
        Festival("mothers_day", "母亲节", _nth_sunday(5, 2), _women),
        Festival("dragon_boat", "端午节", _lunar(5, 5)),
        Festival("fathers_day", "父亲节", _nth_sunday(6, 3), _men),
        Festival("teachers_day", "教师节", _solar(9, 10), _teachers),
        Festival("mid_autumn", "中秋节", _lunar(8, 15)),
        Festival("national_day", "国庆节", _solar(10, 1)),
        Festival("double_ninth", "重阳节", _lunar(9, 9), _seniors),
    ]
}


def selected_festivals(params: dict) -> list[Festival]:
    codes = params.get("festivals")
    if codes is None:
        return list(FESTIVALS.values())
    if isinstance(codes, str):
        codes = [codes]
    unknown = sorted(set(codes) - set(FESTIVALS))
    if unknown:
        # A typo in a rule must not stop the morning run for every other rule.
        logger.warning("holiday rule: unknown festival codes ignored", extra={"codes": unknown})
    return [f for code, f in FESTIVALS.items() if code in codes]


def generate(run: Run):
    start, end = window(run)
    festivals = selected_festivals(run.params)
    touches = []
    for year in range(start.year, end.year + 1):
        for festival in festivals:
            when = festival.date(year)
            if start <= when <= end:
                touches.append(
                    Touch(
                        slot=len(touches) + 1,
                        who=festival.audience(when),
                        event=when,
                        occasion=f"holiday:{festival.code}:{year}",
                        subject=festival.name,
                    )
                )
    querysets = touches_querysets(run.customers(), touches)
    suffix = run.params.get("tier_a_subject_suffix", DEFAULT_TIER_A_SUFFIX)
    if not suffix:
        return querysets
    richer = Case(
        When(value_tier=Customer.ValueTier.A, then=Value(SUBJECT_SEPARATOR + suffix)),
        default=Value(""),
        output_field=CharField(),
    )
    return [qs.annotate(t_subject=Concat("t_subject", richer, output_field=CharField())) for qs in querysets]


FESTIVAL_CHOICES = tuple((code, festival.name) for code, festival in FESTIVALS.items())


DEFAULT_RULES = (
    {
        "name": "节日问候",
        "channel": "sms",
        "lead_days": 0,
        "expiry_days": 0,
        "message_template": (
            "【{dealership}】{name}{title}，{item}快乐！出行前别忘了检查轮胎和灯光，24小时救援电话{rescue_phone}。"
        ),
        "priority": 30,
    },
)

SPEC = register(
    KindSpec(
        kind="holiday",
        label=gettext_lazy("Holiday greeting"),
        generate=generate,
        marketing=True,
        params=(
            Param(
                "festivals",
                gettext_lazy("Festivals"),
                type="multichoice",
                choices=FESTIVAL_CHOICES,
                help_text=gettext_lazy("None ticked: every festival."),
            ),
            Param("tier_a_subject_suffix", gettext_lazy("Extra for tier A"), type="str", default=DEFAULT_TIER_A_SUFFIX),
        ),
        default_rules=DEFAULT_RULES,
        module=__name__,
    )
)
