"""Requests per API key, counted in the shared cache (Redis in production) so every web process agrees."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"

    def get_rate(self) -> str:
        return settings.API_THROTTLE_RATE  # read per request: the setting can change without a restart of tests

    def get_cache_key(self, request, view):
        if request.auth is None:
            return None  # unauthenticated requests are refused before they cost anything
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}
