"""Link tokens for the public page and one-click unsubscribe (SPEC §4).

A token names one send and nothing else: the send id, signed with an HMAC-SHA256 under a salt
used for nothing else. It carries no address or name, cannot be forged without SECRET_KEY, and
never expires (links must keep working for at least a year). Rotating SECRET_KEY keeps old links
valid for as long as the old key stays in SECRET_KEY_FALLBACKS.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "preference_center.messaging.send-link"


# What send_token() makes: a base-62 id, a dot, an unpadded base64url SHA-256 signature.
TOKEN_RE = re.compile(r"(?<![0-9A-Za-z_-])[0-9A-Za-z]{1,12}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")
HIDDEN_TOKEN = "[hidden]"


def _signer() -> signing.Signer:
    return signing.Signer(salt=SALT, sep=".", algorithm="sha256")


def send_token(send_id: int) -> str:
    """The opaque token that names this send in public links."""
    return _signer().sign(signing.b62_encode(send_id))


def send_id_from_token(token: str) -> int | None:
    """The send a token names, or None for anything forged, altered or malformed (never why)."""
    try:
        value = _signer().unsign(token)
    except (signing.BadSignature, TypeError):
        return None
    try:
        number = signing.b62_decode(value)
    except (ValueError, IndexError):
        return None
    return number if number >= 0 else None


def unsubscribe_url(token: str) -> str:
    """Absolute https link for List-Unsubscribe and the visible unsubscribe link."""
    return settings.SITE_URL + reverse("messaging:unsubscribe", args=[token])


def preferences_url(token: str) -> str:
    return settings.SITE_URL + reverse("messaging:preferences", args=[token])


def tokens_hide(text: str) -> str:
    """``text`` with every link token replaced: what a reader who may not act for the contact is shown."""
    return TOKEN_RE.sub(HIDDEN_TOKEN, text)

