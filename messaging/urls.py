from django.urls import path

from .views import public

app_name = "messaging"
urlpatterns = [
    # Public links (SPEC §4); served at /messaging/… until the site root includes them.
    path("p/<str:token>/", public.preferences, name="preferences"),
    path("u/<str:token>/", public.unsubscribe, name="unsubscribe"),
]
