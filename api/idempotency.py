"""``Idempotency-Key`` on writes: a retry gets the first response back and changes nothing more.

The first request inserts its (API key, Idempotency-Key) row in the same transaction as its
change and stores its response there before committing. A retry's insert hits the unique
constraint and replays the stored response; a concurrent duplicate waits on the index until
the first commits, then does the same. A key reused for a different request is refused (422).
"""

from __future__ import annotations

import hashlib
import json
from functools import wraps

from django.db import IntegrityError, transaction
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from .errors import IdempotencyKeyReused
from .models import IdempotentRequest

HEADER = "Idempotency-Key"
KEPT_HEADERS = ("ETag", "Location")
MAX_LENGTH = 255


def request_fingerprint(request) -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.headers.get("If-Match", "")):
        digest.update(part.encode() + b"\0")
    digest.update(request.body)  # the raw bytes DRF already read: the same body fingerprints the same
    return digest.hexdigest()


def _replay(record: IdempotentRequest) -> Response:
    response = Response(record.body, status=record.status_code, headers=record.headers)
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(method):
    """Wrap a write handler of an APIView: with the header, it runs at most once per key."""

    @wraps(method)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return method(view, request, *args, **kwargs)
        if not key.strip() or len(key) > MAX_LENGTH or not key.isprintable():
            from rest_framework.exceptions import ValidationError

            raise ValidationError({HEADER: [f"Send 1 to {MAX_LENGTH} printable characters."]})
        fingerprint = request_fingerprint(request)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotentRequest.objects.create(api_key=request.auth, key=key, fingerprint=fingerprint)
            except IntegrityError:
                record = IdempotentRequest.objects.get(api_key=request.auth, key=key)
                if record.fingerprint != fingerprint:
                    raise IdempotencyKeyReused()
                return _replay(record)
            try:
                with transaction.atomic():
                    response = method(view, request, *args, **kwargs)
                    if response.status_code >= 400:
                        raise _Refused(response)
            except _Refused as refused:
                response = refused.response
            except Exception as exc:  # noqa: BLE001 — turned into the error response a retry will get too
                response = view.handle_exception(exc)
            record.status_code = response.status_code
            record.body = json.loads(json.dumps(response.data, cls=JSONEncoder))
            record.headers = {name: response[name] for name in KEPT_HEADERS if response.has_header(name)}
            record.save(update_fields=["status_code", "body", "headers"])
            return response

    return wrapper


class _Refused(Exception):
    """Rolls back a handler's changes that ended in an error response; the response itself is kept."""

    def __init__(self, response):
        self.response = response
