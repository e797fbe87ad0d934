"""The care rule's admin form: tiers as checkboxes, the cadence as a list of
days, and the kind's parameters as fields of their own, through the admin pages."""

import pytest
from django.forms import CheckboxInput, CheckboxSelectMultiple
from django.urls import reverse

from care.models import CareRule
from tests.care.factories import CareRuleFactory

BIRTHDAY_TEMPLATE = "{name}{title}，祝您生日快乐！"


def change_url(rule: CareRule) -> str:
    return reverse("admin:care_carerule_change", args=[rule.pk])


def page_data(response) -> dict:
    """What a browser posts back for the form on the page, as it is shown."""
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()  # as the widget shows it
        if isinstance(field.widget, CheckboxInput):
            if value:
                data[name] = "on"
        elif isinstance(field.widget, CheckboxSelectMultiple):
            data[name] = [str(v) for v in value or []]
        else:
            data[name] = "" if value is None else str(value)
    return data


@pytest.fixture
def admin_client(client, group_admin):
    client.force_login(group_admin)
    return client


def edit(client, rule: CareRule, **changes):
    """Open the rule's page, change some fields, save."""
    url = change_url(rule)
    data = page_data(client.get(url))
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)  # an unticked checkbox is not sent
        else:
            data[name] = value
    return client.post(url, data)


def test_tier_checkboxes_are_saved_as_the_letters(admin_client):
    rule = CareRuleFactory(kind="maintenance", target_tiers="ABCD")
    page = admin_client.get(change_url(rule)).content.decode()
    assert page.count('type="checkbox" name="target_tiers"') == 4
    response = edit(admin_client, rule, target_tiers=["C", "A"])
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.target_tiers == "AC"


def test_no_tier_ticked_is_an_error_on_the_tiers(admin_client):
    rule = CareRuleFactory(kind="maintenance", target_tiers="AB")
    response = edit(admin_client, rule, target_tiers=[])
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["target_tiers"] == ["请至少选择一个等级。"]
    rule.refresh_from_db()
    assert rule.target_tiers == "AB"


def test_the_cadence_is_written_as_whole_days_separated_by_commas(admin_client):
    rule = CareRuleFactory(kind="insurance", cadence_days=[])
    assert edit(admin_client, rule, cadence_days="45, 33, 30").status_code == 302
    rule.refresh_from_db()
    assert rule.cadence_days == [45, 33, 30]
    assert 'name="cadence_days" value="45, 33, 30"' in admin_client.get(change_url(rule)).content.decode()
    assert edit(admin_client, rule, cadence_days="").status_code == 302
    rule.refresh_from_db()
    assert rule.cadence_days == []


@pytest.mark.parametrize("cadence", ["45, x", "45, -3", "45.5"])
def test_a_cadence_that_is_not_whole_days_is_an_error_on_the_cadence(admin_client, cadence):
    rule = CareRuleFactory(kind="insurance", cadence_days=[30])
    response = edit(admin_client, rule, cadence_days=cadence)
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["cadence_days"]
    rule.refresh_from_db()
    assert rule.cadence_days == [30]


def test_mileage_milestones_are_edited_as_a_list_and_unknown_keys_are_kept(admin_client):
    rule = CareRuleFactory(kind="mileage_milestone", params={"milestones": [10000, 30000, 50000], "note": "总部设定"})
    page = admin_client.get(change_url(rule)).content.decode()
    assert 'name="param_milestones" value="10000, 30000, 50000"' in page
    assert 'name="params"' not in page  # the kind declares its parameters: no raw JSON
    assert edit(admin_client, rule, param_milestones="10000, 20000").status_code == 302
    rule.refresh_from_db()
    assert rule.params == {"milestones": [10000, 20000], "note": "总部设定"}


def test_a_milestone_below_one_is_an_error_on_the_milestones(admin_client):
    rule = CareRuleFactory(kind="mileage_milestone", params={"milestones": [10000]})
    response = edit(admin_client, rule, param_milestones="10000, 0")
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["param_milestones"] == ["0：每个数字至少为 1。"]
    rule.refresh_from_db()
    assert rule.params == {"milestones": [10000]}


SEASON = {"start": "2026-12-01", "end": "2027-01-15", "item": "冬季关怀免费检测", "segment": {}}


def test_a_seasonal_campaign_ending_before_it_starts_is_an_error_on_its_end(admin_client):
    rule = CareRuleFactory(kind="seasonal", params=SEASON)
    page = admin_client.get(change_url(rule)).content.decode()
    assert 'type="date" name="param_start" value="2026-12-01"' in page
    response = edit(admin_client, rule, param_end="2026-11-30")
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["param_end"] == ["活动结束日期不能早于开始日期。"]  # the kind's check, on the field it is about
    assert "param_start" not in errors
    rule.refresh_from_db()
    assert rule.params == SEASON


def test_a_seasonal_campaign_is_saved_with_iso_dates_and_its_segment(admin_client):
    rule = CareRuleFactory(kind="seasonal", params=SEASON)
    response = edit(admin_client, rule, param_end="2027-01-31", param_segment='{"usage": ["private"]}')
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.params == {**SEASON, "end": "2027-01-31", "segment": {"usage": ["private"]}}


def test_a_segment_that_is_not_json_is_an_error_on_the_segment(admin_client):
    rule = CareRuleFactory(kind="seasonal", params=SEASON)
    response = edit(admin_client, rule, param_segment='{"usage": ')
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["param_segment"]


def test_a_birthday_rules_lunar_checkbox_off_is_saved_as_false(admin_client):
    rule = CareRuleFactory(
        kind="birthday", channel="sms", message_template=BIRTHDAY_TEMPLATE, params={"solar": True, "lunar": True}
    )
    page = admin_client.get(change_url(rule)).content.decode()
    assert 'type="checkbox" name="param_lunar"' in page
    assert edit(admin_client, rule, param_lunar=None).status_code == 302
    rule.refresh_from_db()
    assert rule.params == {"solar": True, "lunar": False}


def test_a_parameter_never_set_and_left_as_shown_stays_unset(admin_client):
    # The holiday kind greets every festival when no list is stored: saving the
    # page as shown (every festival ticked) must not freeze today's list.
    rule = CareRuleFactory(kind="holiday", channel="sms", message_template="{name}{title}节日快乐", params={})
    form = admin_client.get(change_url(rule)).context["adminform"].form
    shown = form["param_festivals"].value()
    assert len(shown) > 10 and shown == [code for code, _label in form.fields["param_festivals"].choices]
    assert edit(admin_client, rule, priority="60").status_code == 302
    rule.refresh_from_db()
    assert (rule.priority, rule.params) == (60, {})
    assert edit(admin_client, rule, param_festivals=["spring_festival", "mid_autumn"]).status_code == 302
    rule.refresh_from_db()
    assert rule.params == {"festivals": ["spring_festival", "mid_autumn"]}
    # None ticked: every festival again, as the field's help says.
    assert edit(admin_client, rule, param_festivals=[]).status_code == 302
    rule.refresh_from_db()
    assert rule.params == {}


def test_a_number_below_its_minimum_is_an_error_on_its_field(admin_client):
    rule = CareRuleFactory(kind="new_car_day3", params={"days": 3})
    response = edit(admin_client, rule, param_days="-1")
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["param_days"]
    assert edit(admin_client, rule, param_days="5").status_code == 302
    rule.refresh_from_db()
    assert rule.params == {"days": 5}


def test_a_kind_without_declared_parameters_keeps_the_raw_json(admin_client):
    rule = CareRuleFactory(kind="maintenance", params={"x": 1})
    page = admin_client.get(change_url(rule)).content.decode()
    assert 'name="params"' in page and 'name="param_' not in page
    assert edit(admin_client, rule, params='{"x": 2}').status_code == 302
    rule.refresh_from_db()
    assert rule.params == {"x": 2}


def test_the_rules_name_is_labelled_as_a_things_name(admin_client):
    rule = CareRuleFactory(kind="maintenance")
    page = admin_client.get(change_url(rule)).content.decode()
    assert '<label class="required" for="id_name">名称:</label>' in page  # not 姓名, a person's name


def test_adding_a_rule_shows_the_kinds_fields_before_it_saves(admin_client):
    add = reverse("admin:care_carerule_add")
    # Given the add page without a kind: the basic fields, no parameters yet.
    page = admin_client.get(add)
    assert 'name="param_' not in page.content.decode()
    data = page_data(page)
    data.update(kind="birthday", name="会员生日", channel="sms", message_template=BIRTHDAY_TEMPLATE)
    data.update(target_tiers=["A", "B"], priority="50", lead_days="0", expiry_days="3")
    # When it is saved with a kind that has parameters: the page comes back with them, at their defaults.
    first = admin_client.post(add, data)
    assert first.status_code == 200
    form = first.context["adminform"].form
    assert form.errors["kind"] == ["该类型有专用参数：请检查下方参数后再保存。"]
    assert (form["param_solar"].value(), form["param_lunar"].value()) == (True, True)
    assert not CareRule.objects.exists()
    # Then, checked and saved again (the lunar one off), the rule is created with them.
    again = page_data(first)
    again.pop("param_lunar")
    assert admin_client.post(add, again).status_code == 302
    rule = CareRule.objects.get()
    assert (rule.kind, rule.name, rule.target_tiers, rule.params) == ("birthday", "会员生日", "AB", {"lunar": False})


def test_the_add_page_with_a_kind_in_the_address_shows_its_fields_at_once(admin_client):
    page = admin_client.get(reverse("admin:care_carerule_add") + "?kind=seasonal").content.decode()
    assert 'name="param_start"' in page and 'name="param_item"' in page


def test_a_manager_sees_the_rule_read_only(client, manager):
    rule = CareRuleFactory(kind="birthday", channel="sms", message_template=BIRTHDAY_TEMPLATE, params={"lunar": False})
    client.force_login(manager)
    response = client.get(change_url(rule))
    assert response.status_code == 200
    assert "lunar" in response.content.decode()  # the parameters as stored
    assert client.post(change_url(rule), {"name": "x"}).status_code == 403


def test_every_default_rule_saves_as_shown_with_its_parameters_unchanged(admin_client, default_rules):
    assert len(default_rules) > 10
    for rule in default_rules:
        before = (rule.params, rule.cadence_days, rule.target_tiers)
        response = edit(admin_client, rule)
        assert response.status_code == 302, (rule.kind, response.context["adminform"].form.errors)
        rule.refresh_from_db()
        assert (rule.params, rule.cadence_days, rule.target_tiers) == before, rule.kind


def test_the_rule_list_still_switches_rules_on_and_off(admin_client):
    rule = CareRuleFactory(kind="maintenance", enabled=True)
    page = admin_client.get(reverse("admin:care_carerule_changelist"))
    assert page.status_code == 200 and "名称" in page.content.decode()
    data = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-0-id": str(rule.pk),
        "_save": "保存",
    }  # "enabled" unticked
    assert admin_client.post(reverse("admin:care_carerule_changelist"), data).status_code == 302
    rule.refresh_from_db()
    assert rule.enabled is False


def test_the_kinds_own_checks_land_on_the_field_they_name_or_on_top(admin_client):
    rule = CareRuleFactory(kind="winback", params={"states": ["lost"], "typo": 1})
    response = edit(admin_client, rule, param_states=["active", "lost"])
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["param_states"] == ["取值列表，可选 at_risk, lost。"]  # "states：" said by the field
    assert form.non_field_errors() == ["typo：未知参数，请使用 states。"]  # no field for an unknown key
    rule.refresh_from_db()
    assert rule.params == {"states": ["lost"], "typo": 1}
