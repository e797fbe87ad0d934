"""The care kinds, one module each.

A module declares its kind with ``care.registry.register(KindSpec(...))``:
its label, whether it is marketing, its generator, what fulfils it, its
parameters and their checks, its default rules and the appointment a call
books. Nothing else in the code base lists the kinds; adding one is a module
here, named in ``care.registry.KIND_MODULES`` (or, for a deployment's own
kind, in ``CRM_CARE_EXTRA_KIND_MODULES``).

A generator turns a ``Run`` (rule, day, dealerships) into a queryset, or a
list of them when one customer may get several touches at once (solar and
lunar birthday), whose annotations are the touches due: the columns of
``care.registry.REQUIRED_COLUMNS`` and optionally ``OPTIONAL_COLUMNS``
(``care.kinds.base`` starts every generator with the first five). The engine
checks them, adds contact and expiry dates, priority and assignee, and
inserts everything with one ``INSERT … SELECT``: no row of candidates ever
passes through Python.
"""
