"""``Authorization: Token <key>`` or ``Bearer <key>``: the request's ``auth`` is the ``ApiKey``."""

from __future__ import annotations

from rest_framework import authentication, exceptions

from .services import api_key_authenticate

SCHEMES = {"token", "bearer"}


class ApiClient:
    """The ``request.user`` of an API request: authenticated, and named after its key."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, api_key):
        self.api_key = api_key
        self.pk = None

    def get_username(self) -> str:
        return f"api:{self.api_key.name}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, secret = header.strip().partition(" ")
        if scheme.lower() not in SCHEMES or not secret.strip():
            raise exceptions.AuthenticationFailed("Send 'Authorization: Token <key>' or 'Bearer <key>'.")
        api_key = api_key_authenticate(secret.strip())
        if api_key is None:
            raise exceptions.AuthenticationFailed("This API key is unknown or revoked.")
        return ApiClient(api_key), api_key

    def authenticate_header(self, request) -> str:
        return 'Token realm="api"'
