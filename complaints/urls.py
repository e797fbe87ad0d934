from django.urls import path

from complaints import views

app_name = "complaints"
urlpatterns = [
    path("", views.board_view, name="board"),
    path("<int:pk>/", views.detail_view, name="detail"),
]
