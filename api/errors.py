"""One shape for every error the API returns, and no 500 for what a client sent.

``{"error": {"code": "<stable code>", "message": "<text>", "fields": {"<path>": ["<message>", ...]}}}``
``fields`` is present for validation errors only; a path uses the dotted names of the request body.
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from contacts.services import ObjectInUse, PreferencesInvalid
from messaging.services import DispatchInvalid


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The preferences changed since you read them: read them again (If-Match does not match the ETag)."
    default_code = "precondition_failed"


class PreconditionRequired(exceptions.APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = "Send If-Match with the ETag of the preferences you read: PUT replaces all of them."
    default_code = "precondition_required"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was used for a different request."
    default_code = "idempotency_key_reused"


def fields_flatten(detail, path: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as ``{"a.b": [messages]}``; top-level non-field errors under ``__all__``."""
    if isinstance(detail, dict):
        fields: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = "__all__" if key == "non_field_errors" and not path else str(key)
            fields.update(fields_flatten(value, f"{path}.{name}" if path else name))
        return fields
    if isinstance(detail, list) and detail and all(not isinstance(item, (dict, list)) for item in detail):
        return {path or "__all__": [str(item) for item in detail]}
    if isinstance(detail, list):
        fields = {}
        for index, item in enumerate(detail):
            fields.update(fields_flatten(item, f"{path}.{index}" if path else str(index)))
        return fields
    return {path or "__all__": [str(detail)]}


def error_response(code: str, message: str, http_status: int, fields: dict | None = None, headers=None) -> Response:
    error = {"code": code, "message": message}
    if fields is not None:
        error["fields"] = fields
    return Response({"error": error}, status=http_status, headers=headers)


def api_exception_handler(exc, context):
    if isinstance(exc, PreferencesInvalid):
        set_rollback()
        return error_response("invalid", "Nothing was changed: see the messages per field.", 400, exc.errors)
    if isinstance(exc, DjangoValidationError):
        set_rollback()
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        return error_response("invalid", "Nothing was changed: see the messages per field.", 400, fields)
    if isinstance(exc, (ObjectInUse, DispatchInvalid)):
        set_rollback()
        return error_response("conflict", str(exc), 409)
    if isinstance(exc, (Http404, ObjectDoesNotExist)):
        return error_response("not_found", "Not found.", 404)
    if isinstance(exc, PermissionDenied):
        return error_response("permission_denied", "You do not have permission to do this.", 403)
    if isinstance(exc, IntegrityError):  # a constraint lost a race the serializer's check could not see
        set_rollback()
        return error_response("conflict", "The change conflicts with another one made at the same time: retry.", 409)
    if isinstance(exc, DataError):  # a value out of the column's range that no serializer bound caught
        set_rollback()
        return error_response("invalid", "A value is out of range.", 400, {"__all__": ["A value is out of range."]})
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: let it surface (the schemathesis and no-500 tests fail on it)
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc, exceptions.NotAuthenticated) or isinstance(exc, exceptions.AuthenticationFailed):
        auth = context["view"].get_authenticate_header(context["request"])
        if auth:
            headers["WWW-Authenticate"] = auth
        exc.status_code = 401
    set_rollback()
    if isinstance(exc, exceptions.ValidationError):
        return error_response("invalid", "Nothing was changed: see the messages per field.", 400,
                              fields_flatten(exc.detail), headers)
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else getattr(exc, "default_code", "error")
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return error_response(str(code), str(detail), exc.status_code, None, headers)
