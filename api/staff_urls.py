from django.urls import path

from .views import staff

app_name = "api_keys"
urlpatterns = [
    path("", staff.api_key_list_page, name="list"),
    path("<int:pk>/revoke/", staff.api_key_revoke_page, name="revoke"),
]
