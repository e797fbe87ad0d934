"""The card panel on the customer 360 (registered in LoyaltyConfig.ready; see
customers.panels): level, number, points, valid until, benefits left this card
year and a "renew" hint in the renewal window. One query (loyalty.selectors.card_summary)."""

from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from customers.panels import Panel, register
from loyalty.selectors import card_summary, card_year_end


def _desk_url(name: str, pk: int, fallback: str) -> str:
    """A desk page's address; the desk's routes are the desk's own (loyalty/desk_urls.py)."""
    try:
        return reverse(f"loyalty:{name}", args=[pk])
    except NoReverseMatch:
        return reverse("loyalty:desk") + fallback


def today():
    """The day the panel is read for (a function, so tests can set the clock)."""
    return timezone.localdate()


def card_context(*, customer, user) -> dict:
    summary = card_summary(customer=customer, day=today())
    context = {"club": summary, "join_url": None, "card_url": None, "year_end": None}
    if summary is None or not summary.is_active:
        context["join_url"] = _desk_url("desk-join", customer.pk, f"customers/{customer.pk}/join/")
    if summary is not None:
        context["card_url"] = _desk_url("desk-card", summary.card.pk, f"cards/{summary.card.pk}/")
        context["year_end"] = card_year_end(summary)
    return context


def register_panels() -> None:
    # After complaints (5): what the customer holds with us, before the care history.
    register(Panel("loyalty-card", "loyalty/panels/card.html", card_context, order=8))
