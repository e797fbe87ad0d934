from django.urls import include, path

app_name = "loyalty"
urlpatterns = [
    # The managers' pages (/loyalty/, events, referrals) and the service desk (/loyalty/desk/).
    path("", include("loyalty.manager_urls")),
    path("", include("loyalty.events_urls")),
    # The customer's club event invitation link: no login.
    path("e/", include("loyalty.public_urls")),
    path("desk/", include("loyalty.desk_urls")),
]
