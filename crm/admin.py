from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.timezone import localdate
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm.calendar import calendar_gaps
from crm.forms import HolidayYearForm
from crm.models import ApiToken, Dealership, Holiday, HolidayYear, IdempotencyRecord, Notification, User
from crm.services import api_token_issue, api_token_revoke, holiday_year_set
from crm.tenancy import scope_for_user

admin.site.site_header = _("Dealer CRM administration")
admin.site.site_title = _("Dealer CRM")
admin.site.index_title = _("Rules, data and users")


def _is_admin(user) -> bool:
    return user.is_active and user.is_staff and (user.is_superuser or user.role == User.Role.ADMIN)


def _is_manager(user) -> bool:
    return user.is_active and user.is_staff and user.role == User.Role.MANAGER


class ScopedAdmin(admin.ModelAdmin):
    """Admin pages see what crm.tenancy lets the user see, like pages and the API.

    Administrators (group or store) edit everything in their scope; managers
    view everything in their scope and edit business data when
    ``managers_can_edit`` is set. An object outside the scope is a 404.
    """

    managers_can_edit = False
    group_only_list_filter: tuple = ("dealership",)

    def get_queryset(self, request):
        return scope_for_user(super().get_queryset(request), request.user)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            # Django's default redirects to the index with "does not exist";
            # an object of another dealership must not even be confirmed.
            raise Http404
        return obj

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        if request.user.is_group_level:
            return filters
        return [f for f in filters if f not in self.group_only_list_filter]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.remote_field.model
        if hasattr(related, "dealership_path"):
            kwargs.setdefault("queryset", scope_for_user(related._default_manager.all(), request.user))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_module_permission(self, request):
        return _is_admin(request.user) or _is_manager(request.user)

    def has_view_permission(self, request, obj=None):
        return _is_admin(request.user) or _is_manager(request.user)

    def has_change_permission(self, request, obj=None):
        return _is_admin(request.user) or (self.managers_can_edit and _is_manager(request.user))

    def has_add_permission(self, request):
        return self.has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return _is_admin(request.user)


class GroupWideAdmin(admin.ModelAdmin):
    """Data shared by the whole group: every staff user reads it, administrators edit it."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None):
        return _is_admin(request.user)

    def has_add_permission(self, request):
        return self.has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request)


class ViewOnly:
    """Rows written by services only (histories, notifications): nobody adds,
    changes or deletes them in admin; the view permission still applies."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ScopedInline:
    """Inline rows scoped like their parent admin; read-only for managers."""

    def get_queryset(self, request):
        return scope_for_user(super().get_queryset(request), request.user)

    def has_view_permission(self, request, obj=None):
        return _is_admin(request.user) or _is_manager(request.user)

    def has_change_permission(self, request, obj=None):
        return _is_admin(request.user)

    def has_add_permission(self, request, obj=None):
        return _is_admin(request.user)

    def has_delete_permission(self, request, obj=None):
        return _is_admin(request.user)


class DealershipAdminForm(forms.ModelForm):
    """The store form of the admin (which supplies model and fields): the hours must make a day."""

    def clean(self):
        cleaned = super().clean()
        opens, closes = cleaned.get("opens_at"), cleaned.get("closes_at")
        if opens is not None and closes is not None and opens >= closes:
            self.add_error("closes_at", _("The store closes after it opens: check the two times."))
        return cleaned


@admin.register(Dealership)
class DealershipAdmin(ScopedAdmin):
    form = DealershipAdminForm
    list_display = [
        "code",
        "name",
        "city",
        "booking_phone",
        "rescue_phone",
        "opens_at",
        "closes_at",
        "open_weekdays",
        "is_active",
    ]
    list_filter = ["is_active", "city", "closed_on_public_holidays"]
    search_fields = ["code", "name", "city"]
    group_only_list_filter = ()
    fieldsets = (
        (None, {"fields": ("code", "name", "city", "address", "booking_phone", "rescue_phone", "is_active")}),
        (
            _("Business hours"),
            {
                "fields": ("opens_at", "closes_at", "open_weekdays", "closed_on_public_holidays"),
                "description": _(
                    'Complaint deadlines count only these hours: "acknowledge within 8 hours" means 8 hours '
                    "the store is open."
                ),
            },
        ),
    )

    def has_change_permission(self, request, obj=None):
        # Opening or renaming a store is a group decision.
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)


@admin.register(User)
class UserAdmin(ScopedAdmin, BaseUserAdmin):
    list_display = ["username", "last_name", "first_name", "role", "dealership", "phone", "is_active"]
    list_filter = ["role", "dealership", "is_active"]
    search_fields = ["username", "first_name", "last_name", "phone", "email"]
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Dealership and role"), {"fields": ("role", "dealership", "phone")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("Dealership and role"), {"fields": ("role", "dealership", "phone")}),
    )

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # Store administrators cannot grant group-wide powers.
            fields += ["is_superuser", "user_permissions", "groups"]
        return fields

    def has_change_permission(self, request, obj=None):
        # An API token's account keeps the store and role it was issued with:
        # the token is revoked and a new one issued instead.
        if obj is not None and ApiToken.objects.filter(user_id=obj.pk).exists():
            return False
        return super().has_change_permission(request, obj)


@admin.register(HolidayYear)
class HolidayYearAdmin(GroupWideAdmin):
    """One year of the official calendar in one form (crm.forms.HolidayYearForm),
    saved through holiday_year_set, which replaces that year's days."""

    form = HolidayYearForm
    list_display = ["year", "source", "release", "loaded_at", "loaded_by"]
    list_filter = ["source"]
    readonly_when_changing = ["year", "source", "release", "loaded_at", "loaded_by"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["year", "days_off", "working_days"]
        return [*self.readonly_when_changing, "days_off", "working_days"]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_when_changing if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        # A year is corrected by entering it again, never made unknown by hand.
        return False

    def save_model(self, request, obj, form, change):
        record = holiday_year_set(
            year=obj.year,
            days_off=form.cleaned_data["days_off"],
            working_days=form.cleaned_data["working_days"],
            by=request.user,
        )
        # The admin logs and redirects with the object it handed over.
        for field in HolidayYear._meta.concrete_fields:
            setattr(obj, field.attname, getattr(record, field.attname))
        obj._state.adding = False

    def changelist_view(self, request, extra_context=None):
        gaps = calendar_gaps(localdate())
        if gaps:
            years = ", ".join(str(year) for year in gaps)
            messages.warning(
                request,
                ngettext(
                    "No official holiday data for %(years)s yet: add the year when its notice is published.",
                    "No official holiday data for %(years)s yet: add the years when their notices are published.",
                    len(gaps),
                )
                % {"years": years},
            )
        return super().changelist_view(request, extra_context)


@admin.register(Holiday)
class HolidayAdmin(ViewOnly, GroupWideAdmin):
    """The days themselves, to look up; they are entered a whole year at a time
    in "holiday years", so that a year is never half-changed."""

    list_display = ["date", "name", "is_day_off"]
    list_filter = ["is_day_off", "name"]
    date_hierarchy = "date"
    search_fields = ["name"]


@admin.register(Notification)
class NotificationAdmin(ViewOnly, ScopedAdmin):
    """The messages staff got in the app (escalated complaints, …), to look up:
    they are written by the services that send them and read where staff work."""

    list_display = ["created_at", "title", "user", "dealership", "read_at"]
    list_filter = [("read_at", admin.EmptyFieldListFilter), "dealership"]
    list_select_related = ["user", "dealership"]
    search_fields = ["title", "user__username", "user__last_name", "user__first_name"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ViewOnly, ScopedAdmin):
    """The stored answers to POSTs sent with an Idempotency-Key, to look up when
    an integration asks why a retry got the first answer again (or a 409)."""

    list_display = ["created_at", "user", "method", "path", "key", "status_code"]
    list_filter = ["method", "status_code"]
    list_select_related = ["user"]
    search_fields = ["key", "path", "user__username"]
    date_hierarchy = "created_at"
    readonly_fields = ["user", "key", "method", "path", "body_sha256", "status_code", "response", "created_at"]
    show_full_result_count = False


class ApiTokenIssueForm(forms.Form):
    """The admin's "issue a token" form; ``api_token_issue`` checks it again."""

    name = forms.CharField(label=_("integration"), max_length=100, help_text=_('Who calls with it, e.g. "DMS sync".'))
    dealership = forms.ModelChoiceField(
        label=_("dealership"),
        queryset=Dealership.objects.none(),
        required=False,
        empty_label=_("— every dealership (group-wide) —"),
        help_text=_("The token sees this store's data only, like a manager of the store."),
    )
    can_write = forms.BooleanField(
        label=_("can write"), required=False, help_text=_("Unticked: the token can only read.")
    )
    expires_at = forms.DateTimeField(
        label=_("expires at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Empty: never expires."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["dealership"]
        field.queryset = scope_for_user(Dealership.objects.filter(is_active=True), user)
        if not user.is_group_level:
            # A store's administrator issues tokens of the store only.
            field.required = True
            field.empty_label = None
            field.initial = user.dealership_id

    def add_service_errors(self, error: ValidationError) -> None:
        """Put a service's refusal on the field it names, else on the form."""
        if hasattr(error, "error_dict"):
            for field, errors in error.message_dict.items():
                for message in errors:
                    self.add_error(field if field in self.fields else None, message)
        else:
            for message in error.messages:
                self.add_error(None, message)


@admin.register(ApiToken)
class ApiTokenAdmin(ScopedAdmin):
    """Per-integration API tokens: issued with "add" (the key is shown once,
    on the page after), revoked with the list's action; nothing else changes
    a token, and its key's hash is never shown."""

    list_display = [
        "name",
        "prefix",
        "scope",
        "access",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "created_by",
        "created_at",
    ]
    list_filter = ["can_write", ("revoked_at", admin.EmptyFieldListFilter), "dealership"]
    list_select_related = ["dealership", "created_by"]
    search_fields = ["name", "prefix"]
    fields = [
        "name",
        "prefix",
        "dealership",
        "can_write",
        "expires_at",
        "last_used_at",
        "user",
        "created_by",
        "created_at",
        "revoked_at",
        "revoked_by",
    ]
    readonly_fields = fields
    actions = ["revoke"]

    @admin.display(description=_("dealership"), ordering="dealership__code")
    def scope(self, obj: ApiToken) -> str:
        return str(obj.dealership) if obj.dealership_id else _("every dealership")

    @admin.display(description=_("access"), ordering="can_write")
    def access(self, obj: ApiToken) -> str:
        return _("read and write") if obj.can_write else _("read only")

    def has_change_permission(self, request, obj=None):
        # Shown read-only; only the revoke action changes a token.
        return False

    def has_add_permission(self, request):
        return _is_admin(request.user)

    def has_revoke_permission(self, request):
        return _is_admin(request.user)

    def has_delete_permission(self, request, obj=None):
        # Revoked, not deleted: the list keeps who had access and until when.
        return False

    @admin.action(description=_("Revoke the selected tokens"), permissions=["revoke"])
    def revoke(self, request, queryset):
        done = refused = 0
        for token in queryset.filter(revoked_at__isnull=True).select_related("dealership"):
            try:
                api_token_revoke(token=token, by=request.user)
            except PermissionDenied:
                refused += 1
            else:
                done += 1
        if done:
            messages.success(
                request,
                ngettext(
                    "%(count)d token revoked: its next request is refused.",
                    "%(count)d tokens revoked: their next requests are refused.",
                    done,
                )
                % {"count": done},
            )
        if refused:
            messages.error(
                request,
                ngettext(
                    "%(count)d token is not yours to revoke.", "%(count)d tokens are not yours to revoke.", refused
                )
                % {"count": refused},
            )

    def add_view(self, request, form_url="", extra_context=None):
        """Issue a token through ``api_token_issue``; the page after shows the
        raw key once (it is not stored, not even in the session)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ApiTokenIssueForm(request.POST or None, user=request.user)
        status = 200
        if request.method == "POST":
            if form.is_valid():
                try:
                    token, key = api_token_issue(
                        name=form.cleaned_data["name"],
                        dealership=form.cleaned_data["dealership"],
                        can_write=form.cleaned_data["can_write"],
                        expires_at=form.cleaned_data["expires_at"],
                        by=request.user,
                    )
                except ValidationError as error:
                    form.add_service_errors(error)
                except PermissionDenied as error:
                    form.add_error(None, str(error))
                else:
                    self.log_addition(request, token, [{"added": {}}])
                    response = TemplateResponse(
                        request,
                        "crm/admin_apitoken_issued.html",
                        {
                            **self.admin_site.each_context(request),
                            "opts": self.model._meta,
                            "title": _("API token issued"),
                            "token": token,
                            "key": key,
                            "change_url": reverse("admin:crm_apitoken_change", args=[token.pk]),
                        },
                    )
                    # The key must not stay in any cache on the way.
                    response["Cache-Control"] = "no-store"
                    return response
            status = 400
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": _("Issue an API token"),
        }
        return TemplateResponse(request, "crm/admin_apitoken_issue.html", context, status=status)
