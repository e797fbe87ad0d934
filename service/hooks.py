"""What higher apps lend service, registered from their ``AppConfig.ready``
(service may not import them: DESIGN.md, "Dependencies between apps").

- The labour discount of a repair order: the club (``loyalty.hooks``) knows the
  customer's card and its level's percent; service only shows it. The provider
  gives a SQL expression over repair order rows, so a whole list of orders gets
  its discount inside its own query: no query per order, no query more.
"""

from collections.abc import Callable

from django.db.models import Expression, IntegerField, QuerySet, Value

# () -> an expression evaluated on RepairOrder rows: the labour discount (whole
# percent) the order's customer had there, NULL without one. None: no provider
# (the club is not installed), every order reads NULL.
LabourDiscountProvider = Callable[[], Expression]
_labour_discount_provider: LabourDiscountProvider | None = None


def labour_discount_provider_set(provider: LabourDiscountProvider | None) -> None:
    """Install (or, with None, remove) the labour discount provider."""
    global _labour_discount_provider
    _labour_discount_provider = provider


def labour_discount_provider() -> LabourDiscountProvider | None:
    return _labour_discount_provider


def labour_discount_expression() -> Expression:
    """The provider's expression, or a typed NULL when there is none."""
    provider = _labour_discount_provider
    if provider is None:
        return Value(None, output_field=IntegerField())
    return provider()


def repair_orders_with_labour_discount(orders: QuerySet) -> QuerySet:
    """``orders`` annotated with ``labour_discount_percent`` (an int, or None
    for a customer without a discount): part of the orders' own query."""
    return orders.annotate(labour_discount_percent=labour_discount_expression())
