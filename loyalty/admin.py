"""The club's admin: the policy (the group's row and stores' own, with the
benefits of each level), cards, the points ledger, referrals, benefit uses and
club events.

Cards, ledger rows, referrals and uses are read here only: their writes go
through ``loyalty.services`` (a card's status has one writer,
``card_transition``). The one write on a card is "adjust points", a small form
that calls ``points_adjust`` (a manager, a reason)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from crm.admin import ScopedAdmin, ScopedInline, ViewOnly
from loyalty.forms import PointsAdjustForm
from loyalty.models import (
    BenefitAllowance,
    BenefitUse,
    CardEvent,
    ClubEvent,
    EventRegistration,
    LoyaltyPolicy,
    MembershipCard,
    PointsEntry,
    Referral,
)
from loyalty.services import points_adjust

Status = MembershipCard.Status


# --- The policy ------------------------------------------------------------------------------
class BenefitAllowanceInline(admin.TabularInline):
    model = BenefitAllowance
    extra = 0
    fields = ["level", "benefit", "allowance"]
    ordering = ["level", "benefit"]

    # The inline follows its policy's permissions (LoyaltyPolicyAdmin).
    def has_view_permission(self, request, obj=None):
        return LoyaltyPolicyAdmin.can_view(request.user)

    def has_change_permission(self, request, obj=None):
        return LoyaltyPolicyAdmin.can_edit(request.user, obj)

    def has_add_permission(self, request, obj=None):
        return LoyaltyPolicyAdmin.can_edit(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        return LoyaltyPolicyAdmin.can_edit(request.user, obj)


class LoyaltyPolicyForm(forms.ModelForm):
    """A store's administrator writes their store's policy, never the group's."""

    user = None  # set by LoyaltyPolicyAdmin.get_form

    def clean_dealership(self):
        dealership = self.cleaned_data.get("dealership")
        user = self.user
        own_store = dealership is not None and user is not None and dealership.pk == user.dealership_id
        if user is not None and not user.is_group_level and not own_store:
            raise ValidationError(_("Choose your own store: the group's policy is set by the group."))
        return dealership


@admin.register(LoyaltyPolicy)
class LoyaltyPolicyAdmin(ScopedAdmin):
    """The group's policy (no store), which every store follows unless it has
    its own row. Group administrators edit every row; a store's administrator
    reads the group's and edits their store's own; managers read."""

    form = LoyaltyPolicyForm
    inlines = [BenefitAllowanceInline]
    list_display = ["__str__", "ordinary_fee", "silver_fee", "silver_points", "gold_points", "updated_at"]
    list_select_related = ["dealership"]
    fieldsets = (
        (None, {"fields": ("dealership",)}),
        (
            _("Joining and validity"),
            {
                "fields": (
                    ("ordinary_fee", "silver_fee"),
                    ("ordinary_years", "silver_years", "gold_years"),
                    ("renewal_window_days", "refund_days"),
                )
            },
        ),
        (
            _("Earning points"),
            {
                "fields": (
                    ("yuan_per_repair_point", "yuan_per_insurance_point"),
                    ("event_points", "referral_points"),
                )
            },
        ),
        (
            _("Upgrades (any one condition suffices)"),
            {
                "fields": (
                    "silver_points",
                    ("silver_years_maintained", "silver_km_maintained"),
                    ("silver_visits", "silver_spend"),
                    "silver_referrals",
                    "gold_points",
                    ("gold_referrals_ordinary", "gold_referrals_silver"),
                )
            },
        ),
        (
            _("Labour discount"),
            {"fields": (("ordinary_labour_discount", "silver_labour_discount", "gold_labour_discount"),)},
        ),
    )

    @staticmethod
    def can_view(user) -> bool:
        return user.is_active and user.is_staff and (user.is_superuser or user.role != user.Role.ADVISOR)

    @staticmethod
    def can_edit(user, obj=None) -> bool:
        if not (user.is_active and user.is_staff):
            return False
        if user.is_superuser or (user.is_group_level and user.role == user.Role.ADMIN):
            return True
        if user.role != user.Role.ADMIN:
            return False
        # A store's administrator: their store's row only.
        return obj is None or obj.dealership_id == user.dealership_id

    def get_queryset(self, request):
        queryset = LoyaltyPolicy.objects.all()
        if request.user.is_group_level:
            return queryset
        # A store reads the group's row (which it follows) beside its own.
        return queryset.filter(dealership_id__in=[request.user.dealership_id]) | queryset.filter(
            dealership__isnull=True
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.user = request.user
        return form

    def has_module_permission(self, request):
        return self.can_view(request.user)

    def has_view_permission(self, request, obj=None):
        return self.can_view(request.user)

    def has_change_permission(self, request, obj=None):
        return self.can_edit(request.user, obj)

    def has_add_permission(self, request):
        return self.can_edit(request.user)

    def has_delete_permission(self, request, obj=None):
        # The group's row is what every store falls back on: never deleted here.
        return obj is not None and obj.dealership_id is not None and self.can_edit(request.user, obj)


# --- Cards and the ledger --------------------------------------------------------------------
class CardEventInline(ViewOnly, ScopedInline, admin.TabularInline):
    model = CardEvent
    extra = 0
    can_delete = False
    fields = ["at", "action", "from_status", "to_status", "by", "reason"]
    readonly_fields = fields
    ordering = ["at", "pk"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("by")


class PointsEntryInline(ViewOnly, ScopedInline, admin.TabularInline):
    model = PointsEntry
    extra = 0
    can_delete = False
    fields = ["created_at", "points", "kind", "source", "reason", "by"]
    readonly_fields = fields
    ordering = ["created_at", "pk"]
    verbose_name_plural = _("points ledger")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("by")


def _balance():
    return Coalesce(
        Subquery(
            PointsEntry.objects.filter(card_id=OuterRef("pk"))
            .order_by()
            .values("card_id")
            .annotate(s=Sum("points"))
            .values("s")[:1],
            output_field=IntegerField(),
        ),
        0,
    )


@admin.register(MembershipCard)
class MembershipCardAdmin(ViewOnly, ScopedAdmin):
    """Cards are read here: they are joined, renewed, refunded, upgraded and
    lapsed by the club's services, never by editing the status. A manager
    corrects a card's points with "adjust points"."""

    list_display = [
        "number",
        "customer",
        "level",
        "status",
        "valid_from",
        "valid_until",
        "points_balance",
        "obtained",
        "dealership",
    ]
    list_filter = ["level", "status", "obtained", "dealership"]
    list_select_related = ["customer", "dealership"]
    search_fields = ["number", "customer__name", "customer__phone"]
    date_hierarchy = "valid_from"
    inlines = [CardEventInline, PointsEntryInline]
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(points_total=_balance())

    def get_readonly_fields(self, request, obj=None):
        return [*(f.name for f in MembershipCard._meta.fields), "points_balance", "adjust_points"]

    @admin.display(description=_("points"), ordering="points_total")
    def points_balance(self, obj: MembershipCard) -> int:
        return obj.points_total

    @admin.display(description=_("adjust points"))
    def adjust_points(self, obj: MembershipCard) -> str:
        if obj.pk is None or obj.status != Status.ACTIVE:
            return "—"
        url = reverse("admin:loyalty_membershipcard_adjust", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Adjust points"))

    def get_urls(self):
        extra = [
            path(
                "<int:object_id>/adjust-points/",
                self.admin_site.admin_view(self.adjust_view),
                name="loyalty_membershipcard_adjust",
            )
        ]
        return extra + super().get_urls()

    def adjust_view(self, request, object_id: int):
        """The "adjust points" form: calls ``points_adjust``; what it refuses is
        shown on the form, with what was typed kept."""
        card = self.get_object(request, str(object_id))  # outside the user's scope: a 404
        if not self.has_view_permission(request, card) or request.user.role == request.user.Role.ADVISOR:
            raise PermissionDenied
        form = PointsAdjustForm(request.POST or None)
        status = 200
        if request.method == "POST":
            if form.is_valid():
                try:
                    entry = points_adjust(
                        card=card,
                        points=form.cleaned_data["points"],
                        reason=form.cleaned_data["reason"],
                        by=request.user,
                        day=timezone.localdate(),
                    )
                except ValidationError as error:
                    form.add_service_errors(error)
                else:
                    messages.success(
                        request,
                        _("%(points)+d points on card %(card)s.") % {"points": entry.points, "card": card.number},
                    )
                    return redirect("admin:loyalty_membershipcard_change", card.pk)
            status = 400
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": card,
            "card": card,
            "form": form,
            "title": _("Adjust the points of card %(card)s") % {"card": card.number},
        }
        return TemplateResponse(request, "loyalty/admin_adjust_points.html", context, status=status)


@admin.register(PointsEntry)
class PointsEntryAdmin(ViewOnly, ScopedAdmin):
    """The ledger, row by row: written by the night's job and the services (a
    manual change is the "adjust points" form of a card)."""

    list_display = ["created_at", "card", "points", "kind", "reason", "by", "earned_on"]
    list_filter = ["kind", "card__dealership"]
    group_only_list_filter = ("card__dealership",)
    list_select_related = ["card", "by"]
    search_fields = ["card__number", "card__customer__name", "card__customer__phone", "source", "reason"]
    date_hierarchy = "earned_on"
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in PointsEntry._meta.fields]


@admin.register(BenefitUse)
class BenefitUseAdmin(ViewOnly, ScopedAdmin):
    """Benefits redeemed at the desk, to look up."""

    list_display = ["at", "card", "benefit", "quantity", "card_year", "by", "note"]
    list_filter = ["benefit", "card__dealership"]
    group_only_list_filter = ("card__dealership",)
    list_select_related = ["card", "by"]
    search_fields = ["card__number", "card__customer__name", "note"]
    date_hierarchy = "at"
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in BenefitUse._meta.fields]


@admin.register(Referral)
class ReferralAdmin(ViewOnly, ScopedAdmin):
    """Referrals are recorded at the desk and confirmed and rewarded by the night's job."""

    list_display = ["created_at", "referrer", "referred", "status", "confirmed_at", "rewarded_at", "dealership"]
    list_filter = ["status", "dealership"]
    list_select_related = ["referrer", "referred", "dealership"]
    search_fields = ["referrer__name", "referrer__phone", "referred__name", "referred__phone"]
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Referral._meta.fields]


# --- Club events -----------------------------------------------------------------------------
class EventRegistrationInline(ViewOnly, ScopedInline, admin.TabularInline):
    """Registrations are made by advisors and SMS links, attendance at the desk."""

    model = EventRegistration
    extra = 0
    can_delete = False
    fields = ["customer", "status", "source", "registered_at", "attended_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("customer")


@admin.register(ClubEvent)
class ClubEventAdmin(ScopedAdmin):
    """Club events, which a store's managers plan; the registrations are read here."""

    managers_can_edit = True
    list_display = ["title", "starts_at", "capacity", "dealership"]
    list_filter = ["dealership"]
    list_select_related = ["dealership"]
    search_fields = ["title", "description"]
    date_hierarchy = "starts_at"
    fields = ["title", "dealership", "starts_at", "capacity", "description"]
    inlines = [EventRegistrationInline]

    def has_delete_permission(self, request, obj=None):
        # An event with registrations is kept: its attendance earned points.
        return super().has_delete_permission(request, obj) and not (obj is not None and obj.registrations.exists())
