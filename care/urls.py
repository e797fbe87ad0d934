from django.urls import path

from care import views, webhooks

app_name = "care"
urlpatterns = [
    path("queue/", views.queue_view, name="queue"),
    path("customers/<int:pk>/messages/", views.customer_messages_view, name="customer-messages"),
    path("sms/aliyun/<str:token>/report/", webhooks.aliyun_report_view, name="aliyun-sms-report"),
    path("sms/aliyun/<str:token>/reply/", webhooks.aliyun_reply_view, name="aliyun-sms-reply"),
]
