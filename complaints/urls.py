from django.urls import path

from complaints import views

app_name = "complaints"
urlpatterns = [
    path("", views.board_view, name="board"),
    path("new/", views.complaint_new_view, name="new"),
    path("lessons/", views.lessons_view, name="lessons"),
    path("notifications/read/", views.notifications_read_view, name="notifications-read"),
    path("<int:pk>/", views.detail_view, name="detail"),
    # The case's actions: each a POST, plain or by htmx.
    path("<int:pk>/step/", views.step_view, name="step"),
    path("<int:pk>/contacted/", views.contacted_view, name="contacted"),
    path("<int:pk>/pause/", views.pause_view, name="pause"),
    path("<int:pk>/resume/", views.resume_view, name="resume"),
    path("<int:pk>/assign/", views.assign_view, name="assign"),
    path("<int:pk>/reopen/", views.reopen_view, name="reopen"),
]
