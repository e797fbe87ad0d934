"""The nightly rollups: the tables the KPI dashboards read instead of the
repair orders (``analytics.models``: DailyOrderStats, DailyStoreStats,
DailyCareStats, DailyAdvisorStats, RetentionStats, and the monthly tables
summed from them; each run in RollupRun).

``rollups_run(*, now=None, day=None, full=False) -> RollupResult`` (beat 03:15,
``manage.py build_rollups [--date] [--full]``).

How a run works
---------------
* Incremental. A run finds the store-days (dealership × local day) whose
  sources changed since the last finished run (``analytics.rollups.changes``:
  one ``SELECT DISTINCT`` per source, by the timestamp it keeps), deletes those
  store-days' rows and inserts them anew: one ``INSERT … SELECT … UNION ALL …
  GROUP BY`` per table (``analytics.rollups.sql.insert_grouped``), the source
  rows narrowed to the store-days by ranges the (dealership, opened_at) index
  of the repair orders answers. Nothing passes through Python but the
  store-days. The first run, a run finding the daily tables empty, or
  ``full``, rebuilds every table from everything.
* The watermark. ``RollupRun.started_at`` of the last finished run: a row
  stamped at or after it is read again. It is taken before the run reads
  anything; on PostgreSQL it is moved back to the start of the oldest other
  transaction then open, whose rows (stamped inside it) may commit after the
  run read: the next run reads them. A change stamped before the watermark and
  committed after it by a job that stamps rows long before it writes them is
  missed; so are deleted rows: ``--full`` rebuilds.
* What marks a store-day changed, per table:
  - orders: a repair order written (``updated_at``: new, late, closed, voided,
    corrected) → its store and the day it came in;
  - store: a new customer (``created_at``), a churn event (``created_at`` → its
    ``day``), a complaint (``created_at`` → the day received), a survey answer
    (``answered_at``), a policy (``created_at`` → its ``ends_on``, and the
    ``ends_on`` of the policy it renews), a club card (``created_at`` → its
    ``valid_from``);
  - care: a touch contacted (``Contact.created_at``), changed
    (``CareTaskEvent.at``), reassigned (``TaskReassignment.at``), or whose linked
    order was written → the day the touch was generated; and any day of the
    conversion window (``CRM_CARE_CONVERSION_DAYS`` + 2 days back) whose stored
    touches generated, arrived and revenue differ from the touches' (new
    touches; the visits the morning run links leave no timestamp);
  - advisors: a call logged, a CSAT answer with an advisor.
* Once a day (the first run of its day, and a full run): RetentionStats are
  rebuilt whole, as of the run's day; and on the day itself, the advisors'
  overdue touches of the day before are written (a snapshot: kept when the
  day's other figures are recomputed, and by a full run).
* The months (``analytics.rollups.monthly``): after the days, the store-months
  holding a recomputed store-day are summed again from the daily rows, and the
  group's rows (no dealership) of those months from the stores' rows; the
  customers with a visit of the store-months whose orders were written are
  counted again from the orders; once a day, the tiers of the run's month and
  the month before. Daily rows without their months (the monthly tables
  arrived later, or were emptied by hand) make the next run sum every month.
  The dashboards read the months only: a 24-month chart is 24 rows a key of a
  store, or of the group, where the days were ~0.75 row per repair order.
* One transaction; two runs at once take turns (an advisory lock on
  PostgreSQL, IMMEDIATE transactions on SQLite). A second run with nothing
  changed recomputes no store-day and writes nothing.

The figures (one function each in ``analytics.rollups.figures``)
-----------------------------------------------------------------
Days are local (``TIME_ZONE``, Asia/Shanghai) dates of timestamps.

DailyOrderStats (dealership, day, kind, payer, model, tier)
    Repair orders closed and not voided, by the day the car came in
    (``opened_at``, 进厂 day), the order's kind and payer (paid by the customer,
    warranty = the manufacturer, insurance = the insurer, internal), the car's
    model and the customer's value tier when the day was last computed:
    ``visits`` (orders: 进厂台次), ``revenue`` (``total_amount``: 产值),
    ``labor``, ``parts``. An order closed later, voided or corrected moves its
    day's figures on the next run.
DailyStoreStats (dealership, day)
    ``new_customers``: customers created that day. ``at_risk_customers``,
    ``lost_customers``: churn events of the day to that state;
    ``recovered_customers``: events of the day marked recovered (back to active
    by a visit) — at the customer's store. ``complaints``: cases received that
    day. Surveys by the day answered: ``csat_count`` / ``csat_sum`` /
    ``csat_satisfied`` (≥ SATISFIED_CSAT_MIN) over every answer with a CSAT;
    ``nps_count`` / ``nps_promoters`` (≥ PROMOTER_NPS_MIN) / ``nps_detractors``
    (≤ DETRACTOR_NPS_MAX) over the post-service surveys' NPS answers (returning
    customers), ``lapsed_nps_*`` the same over the lapsed-customer surveys.
    ``insurance_due``: policies sold here (``service.InsurancePolicy``) ending
    that day (``ends_on``; the rows of days ahead fill in as renewals come);
    ``insurance_renewed``: those followed by another policy of the same car and
    kind (compulsory, commercial) starting from 60 days before to 30 days after
    the end. ``membership_joins``: club cards starting that day
    (``valid_from``) that replace no earlier card (an upgrade is no join).
DailyCareStats (dealership, day, kind, advisor)
    Care touches by the day whose morning run generated them (``created_on``),
    their kind and assigned advisor (now): ``generated``; ``contacted``: with a
    contact logged (``Contact.tasks``); ``reached``: a contact that reached the
    customer; ``booked``: a contact that booked an appointment, or the booked
    outcome; ``arrived``: linked to the visit that followed
    (``converted_repair_order``, not voided); ``revenue``: that order's total
    once closed. A visit that answered two touches (merged reasons of one call)
    counts for each: kinds overlap and do not add up to the store's revenue.
DailyAdvisorStats (dealership, day, advisor)
    Calls the advisor logged that day (``Contact`` on the phone): ``calls``,
    ``reached`` (the customer reached), ``booked`` (an appointment booked);
    ``csat_count`` / ``csat_sum``: CSAT answers that day naming the advisor
    (``SurveyResponse.advisor``); ``overdue``: the advisor's open call touches
    on their plan by the end of that day and due by then, still open when the
    next day's first run came (as the queue shows them that morning).
Monthly sums (dealership, or none for the group's; month = the first day)
    ``MonthlyOrderStats`` (kind, payer, model, tier) and ``MonthlyOrderTotals``
    (kind, payer, tier: over the models, a few dozen rows a store-month instead
    of a few hundred; what the pages read unless the model filter is set),
    ``MonthlyStoreStats``, ``MonthlyCareStats`` (kind, advisor; no group rows)
    and ``MonthlyCareTotals`` (kind: over the advisors), ``MonthlyAdvisorStats``
    (advisor; ``overdue``: the snapshot of the store-month's last day with
    figures, not a sum) and ``MonthlyAdvisorTotals`` (over a store's advisors).
MonthlyVisitorStats (dealership, month, attribution, advisor / technician / model)
    Customers with a repair order opened in the store-month, any order (open,
    closed, voided: the complaint rate's base), distinct: ``all``, and by the
    order's advisor (else the customer's), its technician, the car's model.
MonthlyTierStats (dealership or none, month, tier, churn state), MonthlyAdvisorTierStats
    The month's customers: the tier snapshot of a past month, the active
    customers as of the run for the run's month; by advisor (the customer's, as
    of the run) with the month's churn moves (customers turned at risk, lost,
    recovered: distinct, rows of their own with a blank tier).
    ``MonthlyTierMoves``: the month's customers by their tier the month before
    (blank: new) and in the month (blank: no longer counted).
    ``WatchListEntry``: each store's newest 50 watch-list flags (active customers).
RetentionStats (dealership, dimension, band, model; as_of = the run's day)
    From the cars' stored figures, a GROUP BY over the cars (never the orders),
    at the owner's store. ``age``: cars in use by age band from the purchase
    date (``figures.AGE_BANDS``: 0-1, 1-3, 3-5, 5-8, 8+ years, labelled in
    ``figures.AGE_BAND_LABELS``; a car exactly 3 years old is 1-3); ``returned``:
    a maintenance visit within the 12 months before as_of (``last_maintenance_date``, kept from the orders nightly).
    ``maintenance``: cars sold here by purchase year (band "2024") whose first
    maintenance is due by as_of (the model's ``first_maintenance_months`` after
    the purchase); ``returned``: came back for the first maintenance (首保回厂);
    ``returned_2``: for a second (a last maintenance after the first, or two
    maintenance visits here); ``returned_3``: for a third (three maintenance
    visits here, ``Vehicle.maintenance_count``).
"""

from analytics.rollups.run import RollupResult, rollups_run

__all__ = ["RollupResult", "rollups_run"]
