from django.urls import path

from loyalty import desk_views

urlpatterns = [
    path("", desk_views.desk_view, name="desk"),
    path("cards/<int:pk>/", desk_views.card_view, name="desk-card"),
    # The card's actions: each a POST, plain or by htmx.
    path("cards/<int:pk>/redeem/<slug:benefit>/", desk_views.redeem_view, name="desk-redeem"),
    path("cards/<int:pk>/renew/", desk_views.renew_view, name="desk-renew"),
    path("cards/<int:pk>/refund/", desk_views.refund_view, name="desk-refund"),
    path("customers/<int:pk>/join/", desk_views.join_view, name="desk-join"),
    path("registrations/<int:pk>/attend/", desk_views.attend_view, name="desk-attend"),
]
