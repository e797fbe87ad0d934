from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from care.messaging.models import MessagingProfile, Outbox
from care.messaging.selectors import outbox_daily_counts
from care.messaging.services import outbox_resend
from crm.admin import ScopedAdmin


@admin.register(MessagingProfile)
class MessagingProfileAdmin(ScopedAdmin):
    list_display = ["dealership", "sms_sign_name", "email_from", "paused"]
    list_editable = ["paused"]


@admin.register(Outbox)
class OutboxAdmin(ScopedAdmin):
    list_display = [
        "created_at",
        "customer",
        "recipient",
        "channel",
        "kind",
        "purpose",
        "status",
        "suppression_reason",
        "attempts",
        "sent_at",
        "error_code",
    ]
    list_filter = ["status", "suppression_reason", "channel", "purpose", "kind", "backend", "dealership", "created_at"]
    search_fields = ["customer__name", "recipient", "gateway_message_id", "error_code"]
    list_select_related = ["customer"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["resend"]
    change_list_template = "admin/care/outbox/change_list.html"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Outbox._meta.fields]  # a record of what happened: only "resend" changes it

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Send again (failed or suppressed only)"), permissions=["change"])
    def resend(self, request, queryset):
        count = outbox_resend(messages=queryset)
        self.message_user(
            request, _("%(n)s messages queued again; consent and limits are checked again.") % {"n": count}
        )

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "daily_counts": outbox_daily_counts(user=request.user, days=14)}
        return super().changelist_view(request, extra_context=extra_context)
