from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("messaging/", include("messaging.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("", include("contacts.urls")),
]
