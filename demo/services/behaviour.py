"""How the demo's customers use the store: the behaviours the builder draws them from."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Behaviour:
    """How a customer uses the store over the car's life (seed 001 §三 tiers, seed 003 churn):
    the tier and churn state follow from it through the recompute."""

    name: str
    weight: int
    car_age_days: tuple[int, int]
    # Days between visits, and how long ago the last visit was.
    gap_days: tuple[int, int]
    last_visit_days_ago: tuple[int, int]


OLDEST_CAR_YEARS = 8
_OLDEST = OLDEST_CAR_YEARS * 365
# Loyal customers come back every 3–6 months (seed 003: about 4.5 on average);
# marginal and lost ones came less often even before they stopped.
LOYAL = Behaviour("loyal", 35, (370, _OLDEST), (90, 180), (1, 115))
DRIFTING = Behaviour("drifting", 25, (560, _OLDEST), (150, 300), (190, 350))
LOST = Behaviour("lost", 25, (760, _OLDEST), (180, 360), (380, 1100))
NEW = Behaviour("new", 15, (10, 355), (0, 0), (0, 0))
BEHAVIOURS = (LOYAL, DRIFTING, LOST, NEW)
# A customer without a visit or a car bought here came to us this long before today (a lead).
LEAD_DAYS = 30
