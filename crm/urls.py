from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from crm import views
from crm.api_root import ApiRootView

# Apps are included by dotted path: crm is the lowest layer and never imports them.
urlpatterns = [
    path("", views.home, name="home"),
    path("healthz/", views.healthz, name="healthz"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("customers/", include("customers.urls")),
    path("vehicles/", include("vehicles.urls")),
    path("care/", include("care.urls")),
    path("appointments/", include("service.urls")),
    path("complaints/", include("complaints.urls")),
    path("c/", include("complaints.public_urls")),
    path("loyalty/", include("loyalty.urls")),
    path("imports/", include("imports.urls")),
    path("analytics/", include("analytics.urls")),
    path("s/", include("analytics.public_urls")),
    path("api/v1/", ApiRootView.as_view(), name="api-root"),
    path("api/v1/", include("customers.api")),
    path("api/v1/", include("vehicles.api")),
    path("api/v1/", include("service.api")),
    path("api/v1/", include("care.api")),
    path("api/v1/", include("complaints.api")),
    path("api/v1/", include("loyalty.api")),
    path("api/v1/", include("analytics.api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
if settings.DEBUG:
    urlpatterns += static(settings.STATIC_URL, document_root=settings.STATIC_ROOT)
