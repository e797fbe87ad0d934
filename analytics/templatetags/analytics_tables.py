"""``{{ table|kpi_rows }}`` and ``{{ table|table_rows }}``: a table's body rows written in
Python (``analytics.table_html``), for the analytics partials."""

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

from analytics.table_html import kpi_rows_html, rows_html

register = template.Library()


@register.filter
def kpi_rows(table):
    return kpi_rows_html(table)


@register.filter
def table_rows(table):
    return rows_html(table)


@register.filter
def quick_select(bound_field):
    """A choice field's ``<select>``, written in Python: the group's list of stores holds
    hundreds of options, and Django's widget templates render each option as a template of
    its own (about 40 µs each). The same markup, name, id, selection and escaping."""
    value = bound_field.value()
    chosen = {str(v) for v in (value if isinstance(value, list | tuple) else [value]) if v is not None}
    if not chosen:
        chosen = {""}
    options = []
    for option_value, label in bound_field.field.choices:
        key = "" if option_value is None else str(option_value)
        selected = " selected" if key in chosen else ""
        options.append(f'<option value="{conditional_escape(key)}"{selected}>{conditional_escape(label)}</option>')
    attrs = f'name="{conditional_escape(bound_field.html_name)}"'
    if bound_field.auto_id:
        attrs += f' id="{conditional_escape(bound_field.auto_id)}"'
    return mark_safe(f"<select {attrs}>{''.join(options)}</select>")  # every part went through conditional_escape
