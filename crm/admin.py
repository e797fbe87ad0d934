from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from crm.models import Dealership, User
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


@admin.register(Dealership)
class DealershipAdmin(ScopedAdmin):
    list_display = ["code", "name", "city", "booking_phone", "rescue_phone", "is_active"]
    list_filter = ["is_active", "city"]
    search_fields = ["code", "name", "city"]
    group_only_list_filter = ()

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
