"""The club events and referral pages (mounted at /loyalty/, namespace ``loyalty``)."""

from django.urls import path

from loyalty import events_views

urlpatterns = [
    path("events/", events_views.event_list_view, name="events"),
    path("events/<int:pk>/", events_views.event_detail_view, name="event"),
    # The event's actions: each a POST that redirects back to the event.
    path("events/<int:pk>/register/", events_views.event_register_view, name="event-register"),
    path(
        "events/<int:pk>/registrations/<int:registration_pk>/cancel/",
        events_views.event_cancel_view,
        name="event-cancel",
    ),
    path("events/<int:pk>/invite/", events_views.event_invite_view, name="event-invite"),
    path("referrals/", events_views.referral_list_view, name="referrals"),
    path("referrals/<int:pk>/reward/", events_views.referral_reward_view, name="referral-reward"),
]
