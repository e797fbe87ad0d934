from django.urls import path

from care import views
from care.messaging import webhooks
from care.workspace import views as workspace

app_name = "care"
urlpatterns = [
    path("queue/", workspace.queue_view, name="queue"),
    path("queue/reassign/", workspace.reassign_view, name="reassign"),
    path("queue/backlog/", workspace.backlog_view, name="backlog"),
    path("tasks/<int:pk>/panel/", workspace.panel_view, name="panel"),
    path("tasks/<int:pk>/log/", workspace.log_outcome_view, name="log"),
    path("tasks/<int:pk>/complaint/", workspace.complaint_raise_view, name="complaint-raise"),
    path("customers/<int:pk>/contacts/new/", workspace.contact_new_view, name="contact-new"),
    path("customers/<int:pk>/messages/", views.customer_messages_view, name="customer-messages"),
    path("sms/aliyun/<str:token>/report/", webhooks.aliyun_report_view, name="aliyun-sms-report"),
    path("sms/aliyun/<str:token>/reply/", webhooks.aliyun_reply_view, name="aliyun-sms-reply"),
]
