from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("messaging/", include("messaging.urls")),
    path("api/v1/", include("api.urls")),
    path("settings/api-keys/", include("api.staff_urls")),
    path("webhooks/", include("webhooks.urls")),
    path("", include("contacts.urls")),
]
