from django.urls import path

from customers import duplicate_views, privacy_views, views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list_view, name="list"),
    path("search/", views.customer_search_view, name="search"),
    path("duplicates/", duplicate_views.duplicate_list_view, name="duplicates"),
    path("merge/", duplicate_views.customer_merge_view, name="merge"),
    path("<int:pk>/", views.customer_detail_view, name="detail"),
    path("<int:pk>/edit/", views.customer_edit_view, name="edit"),
    path("<int:pk>/privacy/", privacy_views.customer_privacy_view, name="privacy"),
    path("<int:pk>/privacy/export.json", privacy_views.customer_export_json_view, name="privacy-export-json"),
    path("<int:pk>/privacy/export/", privacy_views.customer_export_html_view, name="privacy-export"),
    path("<int:pk>/privacy/erase/", privacy_views.customer_erase_view, name="privacy-erase"),
]
