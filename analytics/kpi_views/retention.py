"""The retention page: returns by car age and by maintenance cohort."""

from django.utils.translation import gettext as _

from analytics import kpis
from analytics.kpi_views.base import Chart, Drill, Section
from analytics.kpis import Filter, KpiFilters
from crm.tables import Table

# --- Retention -------------------------------------------------------------------------------------


def retention_sections(*, user, filters: KpiFilters, drill: Drill) -> list[Section]:
    """One query: RetentionStats by dimension and band."""
    retention = kpis.retention(user=user, filters=filters)
    as_of = f"{retention.as_of:%Y-%m-%d}" if retention.as_of else "—"
    age, age_total = retention.by_age, kpis.Retention.total(retention.by_age)

    def age_link(line, *, returned: bool | None = None, count=None):
        return drill("cars", count, dims=True, dimension="age", band=line.band or None, returned=returned)

    age_table = Table(
        name="retention-age",
        title=_("Retention by vehicle age"),
        header=[_("Vehicle age"), _("Cars"), _("Came back in the last 12 months"), _("Retention (%)")],
        rows=[[line.label, line.cars, line.returned, line.rate] for line in age],
        cell_links=[
            [None, age_link(line, count=line.cars), age_link(line, returned=1, count=line.returned), None]
            for line in age
        ],
        footer=[_("All"), age_total.cars, age_total.returned, age_total.rate],
        note=_("Cars in use by their age as of %(day)s, and those with a maintenance visit in the 12 months before.")
        % {"day": as_of},
    )
    cohorts, cohort_total = retention.by_maintenance, kpis.Retention.total(retention.by_maintenance)

    def cohort_link(line, number: int | None, count):
        return drill("cars", count, dims=True, dimension="maintenance", band=line.band or None, returned=number)

    cohort_table = Table(
        name="retention-maintenance",
        title=_("Return rate by maintenance number"),
        header=[
            _("Bought in"),
            _("Cars"),
            _("Back for the 1st maintenance"),
            _("1st maintenance return rate (%)"),
            _("Back for the 2nd"),
            _("2nd (%)"),
            _("Back for the 3rd"),
            _("3rd (%)"),
        ],
        rows=[
            [
                line.label,
                line.cars,
                line.returned,
                line.rate,
                line.returned_2,
                line.rate_2,
                line.returned_3,
                line.rate_3,
            ]
            for line in cohorts
        ],
        cell_links=[
            [
                None,
                cohort_link(line, None, line.cars),
                cohort_link(line, 1, line.returned),
                None,
                cohort_link(line, 2, line.returned_2),
                None,
                cohort_link(line, 3, line.returned_3),
                None,
            ]
            for line in cohorts
        ],
        footer=[
            _("All"),
            cohort_total.cars,
            cohort_total.returned,
            cohort_total.rate,
            cohort_total.returned_2,
            cohort_total.rate_2,
            cohort_total.returned_3,
            cohort_total.rate_3,
        ],
        note=_(
            "The cars sold here in each year whose first maintenance is due (the model's months after the "
            "purchase), and how many came back for their first (首保回厂率), second and third maintenance, each as "
            "%% of the year's cars, as of %(day)s."
        )
        % {"day": as_of},
    )
    charts_age = [
        Chart(
            "bar",
            _("Retention (%)"),
            [line.label for line in age],
            [(_("Retention (%)"), [line.rate for line in age])],
            unit="%",
        )
    ]
    charts_cohort = [
        Chart(
            "bar",
            _("Return rate by maintenance number"),
            [line.label for line in cohorts],
            [
                (_("1st (%)"), [line.rate for line in cohorts]),
                (_("2nd (%)"), [line.rate_2 for line in cohorts]),
                (_("3rd (%)"), [line.rate_3 for line in cohorts]),
            ],
            unit="%",
        )
    ]
    ignored = (Filter.PERIOD, Filter.TIER)
    return [Section(age_table, charts_age, ignored=ignored), Section(cohort_table, charts_cohort, ignored=ignored)]
