"""The one rule for a message's sender: a single email address, optionally with a display name."""

from __future__ import annotations

from email.utils import getaddresses

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

INVALID_SENDER = _("Enter one email address, optionally with a name: “News <news@example.com>”.")


def sender_parts(value: str) -> tuple[str, str]:
    """The (display name, address) of a sender such as ``News <news@example.com>``; raises
    ValidationError for anything else: free text, several addresses, or a control character, which
    could end the header and start another (``Evil\\r\\nBcc: …``)."""
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise ValidationError(INVALID_SENDER, code="invalid")
    pairs = getaddresses([value])
    if len(pairs) != 1 or not pairs[0][1]:
        raise ValidationError(INVALID_SENDER, code="invalid")
    name, address = pairs[0]
    try:
        validate_email(address)
    except ValidationError:
        raise ValidationError(INVALID_SENDER, code="invalid") from None
    return name, address


def validate_sender(value: str) -> None:
    """Model-field validator for a sender address (see ``sender_parts``)."""
    sender_parts(value)


def recipient_address(value: str) -> tuple[str, str]:
    """A staff-typed test recipient as ``(address field, stored form)``: an email address
    (``"email"``) or an E.164 number (``"phone"``), normalised and checked by the same rules as a
    contact's (``contacts.models``). Raises ValidationError naming the value otherwise."""
    from contacts.models import Channel, E164_VALIDATOR, email_normalise, phone_normalise

    if "@" in value:
        address = email_normalise(value)
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError(_("“%(value)s” is not a valid email address."), params={"value": value}) from None
        return Channel.AddressField.EMAIL, address
    number = phone_normalise(value).replace(" ", "").replace("-", "").replace(".", "")
    try:
        E164_VALIDATOR(number)
    except ValidationError:
        raise ValidationError(
            _("“%(value)s” is neither an email address nor a phone number in international format (+33612345678)."),
            params={"value": value},
        ) from None
    return Channel.AddressField.PHONE, number
