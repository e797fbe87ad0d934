"""Retention of the customers, by vehicle age band and other dimensions."""

import dataclasses
import datetime
from collections import defaultdict
from decimal import Decimal

from django.db.models import Max, Sum
from django.utils.translation import gettext_lazy as _

from analytics.kpis._common import KpiFilters, _group, _monthly
from analytics.models import (
    RetentionStats,
)
from analytics.rollups.figures import (
    AGE_BANDS,
)
from analytics.scores import share

# --- Retention ------------------------------------------------------------------------------------


@dataclasses.dataclass
class RetentionLine:
    band: str
    label: str
    cars: int
    returned: int
    returned_2: int
    returned_3: int

    @property
    def rate(self) -> Decimal | None:
        return share(self.returned, self.cars)

    @property
    def rate_2(self) -> Decimal | None:
        return share(self.returned_2, self.cars)

    @property
    def rate_3(self) -> Decimal | None:
        return share(self.returned_3, self.cars)


@dataclasses.dataclass
class Retention:
    by_age: list[RetentionLine]
    by_maintenance: list[RetentionLine]
    as_of: datetime.date | None

    @staticmethod
    def total(lines: list[RetentionLine]) -> RetentionLine:
        return RetentionLine(
            band="",
            label=str(_("All")),
            cars=sum(line.cars for line in lines),
            returned=sum(line.returned for line in lines),
            returned_2=sum(line.returned_2 for line in lines),
            returned_3=sum(line.returned_3 for line in lines),
        )


# The rollups' vehicle age bands (analytics.rollups.figures.AGE_BANDS), in words.
AGE_BAND_LABELS = {
    "0-1": _("Up to 1 year"),
    "1-3": _("1–3 years"),
    "3-5": _("3–5 years"),
    "5-8": _("5–8 years"),
    "8+": _("Over 8 years"),
}


def _band_rank(dimension: str, band: str) -> tuple:
    if dimension == RetentionStats.Dimension.AGE:
        order = [code for code, _years in AGE_BANDS]
        return (order.index(band) if band in order else len(order), band)
    return (0, band)  # cohorts (purchase years) sort as text: 2023 < 2024


def retention(*, user, filters: KpiFilters) -> Retention:
    """Cars that came back, by vehicle age band and by purchase cohort for the first, second and
    third maintenance (首保回厂率). The store and model filters apply; the figures are as of the last
    nightly run, so the period and the tier do not. One query."""
    rows = _monthly(RetentionStats, user=user, filters=filters)
    if filters.model_id is not None:
        rows = rows.filter(model_id=filters.model_id)
    grouped = _group(
        rows,
        ["dimension", "band"],
        {
            "cars": Sum("cars", default=0),
            "returned": Sum("returned", default=0),
            "returned_2": Sum("returned_2", default=0),
            "returned_3": Sum("returned_3", default=0),
            "as_of": Max("as_of"),
        },
    )
    age_labels = AGE_BAND_LABELS
    lines: dict[str, list[RetentionLine]] = defaultdict(list)
    as_of = None
    for row in grouped:
        label = (
            age_labels.get(row["band"], row["band"])
            if row["dimension"] == RetentionStats.Dimension.AGE
            else row["band"]
        )
        lines[row["dimension"]].append(
            RetentionLine(
                band=row["band"],
                label=str(label),
                cars=row["cars"],
                returned=row["returned"],
                returned_2=row["returned_2"],
                returned_3=row["returned_3"],
            )
        )
        as_of = max(as_of, row["as_of"]) if as_of else row["as_of"]
    for dimension, found in lines.items():
        found.sort(key=lambda line, d=dimension: _band_rank(d, line.band))
    return Retention(
        by_age=lines[RetentionStats.Dimension.AGE],
        by_maintenance=lines[RetentionStats.Dimension.MAINTENANCE],
        as_of=as_of,
    )
