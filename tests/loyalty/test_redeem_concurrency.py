"""Two desks redeem a card's last wash at the same moment: exactly one wins.

``benefit_redeem`` locks the card row (SELECT … FOR UPDATE) while it counts
what is left, so the second desk waits, then counts the first one's use and is
refused. This needs real concurrent transactions: PostgreSQL, each thread
with its own connection."""

import datetime
import threading

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import translation
from django.utils.translation import gettext

from loyalty.models import BenefitUse
from loyalty.services import benefit_redeem, card_join

DAY = datetime.date(2026, 6, 1)

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite has one writer at a time and ignores SELECT … FOR UPDATE",
    ),
]


def test_two_desks_taking_the_last_wash_at_once_give_exactly_one_success(customer, advisor, manager):
    # Given an ordinary card (10 washes a card year) with 9 used: one left.
    card = card_join(customer=customer, level="ordinary", route="fee", by=None, day=datetime.date(2026, 3, 1))
    benefit_redeem(card=card, benefit="wash", quantity=9, by=advisor, day=DAY)
    start = threading.Barrier(2)
    outcomes: list[object] = [None, None]

    def desk(n: int, by) -> None:
        try:
            start.wait()
            outcomes[n] = benefit_redeem(card=card, benefit="wash", quantity=1, by=by, day=DAY, note=f"desk {n}")
        except BaseException as error:  # a refusal, or anything else: the asserts below tell
            outcomes[n] = error
        finally:
            connection.close()

    # When two desks redeem the last wash at the same moment
    threads = [threading.Thread(target=desk, args=(n, by)) for n, by in enumerate((advisor, manager))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # Then one use is recorded and the other desk hears that nothing is left
    uses = [o for o in outcomes if isinstance(o, BenefitUse)]
    refusals = [o for o in outcomes if isinstance(o, ValidationError)]
    assert (len(uses), len(refusals)) == (1, 1), outcomes
    # (The threads speak the site's default language.)
    with translation.override(settings.LANGUAGE_CODE):
        expected = gettext("Only %(left)d left in this card year.") % {"left": 0}
    assert refusals[0].message_dict["quantity"] == [expected]
    assert BenefitUse.objects.filter(card=card).count() == 2  # the 9 before, and the one new
    assert list(BenefitUse.objects.filter(card=card, quantity=1).values_list("note", flat=True)) == [uses[0].note]
