"""The survey link by SMS (满意度调查短信): the day after a closed repair order,
the two questions (satisfaction and "would you recommend us"); and to at-risk
and lost customers, the recommend question only.

A service message, not marketing: it needs no marketing consent; the
customer's opt-outs of this kind or of SMS are honoured (``Run.customers``,
then the outbox's checks). Who is asked, and the signed link, are the
analytics app's (``analytics.surveys``): it picks the customers, writes its
``Survey`` rows, and makes one touch per survey through
``care.engine.services.care_touches_make_now`` with rows it builds (occasion
``survey:<survey id>``, the link as the touch's subject, ``{survey_link}``),
then queues the messages. The morning run makes none.

A rule sends one survey (``params["survey"]``): the after-service one or the
lapsed customers' one, each with its own words and gateway template.
"""

from django.core.exceptions import ValidationError
from django.db.models import CharField, DateField, Value
from django.utils.translation import gettext_lazy

from care.kinds.base import Run
from care.registry import KindSpec, Param, register
from care.signals import LAPSED, POST_SERVICE

PREFIX = "survey"
SURVEY_CHOICES = (
    (POST_SERVICE, gettext_lazy("After a service visit")),
    (LAPSED, gettext_lazy("Lapsed customer")),
)


def survey_occasion(survey_id: int) -> str:
    return f"{PREFIX}:{survey_id}"


def rule_survey(params) -> str:
    """Which survey a rule of this kind sends (the after-service one unless it says otherwise)."""
    value = params.get("survey", POST_SERVICE) if isinstance(params, dict) else None
    return value if value in dict(SURVEY_CHOICES) else ""


def generate(run: Run):
    """The morning run finds nothing to do: the invitations are made by the daily survey job."""
    return (
        run.customers()
        .filter(pk__in=[])
        .annotate(t_event=Value(run.day, output_field=DateField()), t_occasion=Value("", output_field=CharField()))
    )


def link_context(touches: list) -> dict[int, dict]:
    """``{survey_link}`` is the touch's subject, written when it was made: no query."""
    return {t.pk: {"survey_link": t.subject} for t in touches}


def clean_params(params: dict) -> None:
    if not rule_survey(params):
        raise ValidationError(gettext_lazy("Choose which survey the rule sends."))


DEFAULT_RULES = (
    {
        "name": "服务满意度调查短信",
        "channel": "sms",
        "lead_days": 0,
        "expiry_days": 1,
        "message_template": (
            "{name}{title}您好，感谢您光临{dealership}！请花1分钟评价本次服务（7天内有效）：{survey_link}"
        ),
        "priority": 40,
        "params": {"survey": POST_SERVICE},
    },
    {
        "name": "流失客户推荐度调查短信",
        "channel": "sms",
        "lead_days": 0,
        "expiry_days": 1,
        "message_template": (
            "{name}{title}您好，{dealership}很久没有为您服务了。您有多大可能向朋友推荐我们？"
            "请花半分钟告诉我们（7天内有效）：{survey_link}"
        ),
        "priority": 30,
        "params": {"survey": LAPSED},
    },
)

SPEC = register(
    KindSpec(
        kind="survey_invite",
        label=gettext_lazy("Survey: link by SMS"),
        generate=generate,
        context=link_context,
        clean_params=clean_params,
        params=(
            Param(
                "survey",
                gettext_lazy("Survey"),
                type="choice",
                default=POST_SERVICE,
                required=True,
                choices=SURVEY_CHOICES,
            ),
        ),
        default_rules=DEFAULT_RULES,
        module=__name__,
    )
)
