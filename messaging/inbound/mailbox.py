"""Unsubscribe emails sent to the ``mailto:`` address of List-Unsubscribe, read from an IMAP inbox.

The address is given as ``mailto:box@example.com?subject=unsubscribe%20<token>``; mail clients
send it with that subject. The link token is the authority, exactly as for the one-click URL:
the sender's address is not trusted for anything (it is easy to forge, and forwarding changes it).
"""

from __future__ import annotations

import email
import email.policy
import imaplib
import logging
import re
import urllib.parse
from dataclasses import dataclass

from contacts.services import Source, channel_unsubscribe
from messaging.models import Send
from messaging.tokens import send_id_from_token

log = logging.getLogger(__name__)

# A link token: base-62 send id, a dot, an unpadded url-safe base64 signature.
TOKEN_RE = re.compile(r"[0-9A-Za-z]{1,12}\.[A-Za-z0-9_-]{20,}")


@dataclass
class MailboxResult:
    send_id: int | None
    unsubscribed: bool


def tokens_in(message: email.message.EmailMessage) -> list[str]:
    """Candidate tokens, most likely first: the subject, the recipient (plus-addressing), the text body."""
    places = [str(message.get("Subject", "")), str(message.get("To", ""))]
    body = message.get_body(("plain",))
    if body is not None:
        try:
            places.append(body.get_content()[:10_000])
        except (LookupError, UnicodeError):
            pass  # an undecodable body: the subject and recipient may still carry the token
    return [token for place in places for token in TOKEN_RE.findall(urllib.parse.unquote(place))]


def mailbox_message_process(raw: bytes) -> MailboxResult:
    """Unsubscribe the send's channel named by the first valid token in one raw RFC 822 message."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    for token in tokens_in(message):
        send_id = send_id_from_token(token)
        if send_id is None:
            continue
        send = Send.objects.select_related("contact", "channel").filter(pk=send_id, channel__isnull=False).first()
        if send is None:
            continue
        channel_unsubscribe(contact=send.contact, channel=send.channel, source=Source("mailto", send_id=send.pk))
        return MailboxResult(send_id=send.pk, unsubscribed=True)
    return MailboxResult(send_id=None, unsubscribed=False)


@dataclass
class MailboxReport:
    read: int = 0
    unsubscribed: int = 0


def imap_connect(url: str) -> tuple[imaplib.IMAP4, str]:
    """Log in to ``imaps://user:password@host[:port]/FOLDER`` (or ``imap://`` without TLS)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("imap", "imaps"):
        raise ValueError("The mailbox URL must start with imap:// or imaps://")
    klass = imaplib.IMAP4_SSL if parts.scheme == "imaps" else imaplib.IMAP4
    conn = klass(parts.hostname, parts.port or (993 if parts.scheme == "imaps" else 143), timeout=30)
    conn.login(urllib.parse.unquote(parts.username or ""), urllib.parse.unquote(parts.password or ""))
    return conn, urllib.parse.unquote(parts.path.lstrip("/")) or "INBOX"


def mailbox_process(url: str) -> MailboxReport:
    """Read every unread message of the folder, act on it, and mark it read (processing is idempotent,
    so a message read twice after a crash unsubscribes nothing more)."""
    report = MailboxReport()
    conn, folder = imap_connect(url)
    try:
        conn.select(folder)
        _, data = conn.search(None, "UNSEEN")
        for number in (data[0] or b"").split():
            _, parts = conn.fetch(number, "(RFC822)")
            raw = next((part[1] for part in parts if isinstance(part, tuple)), None)
            if raw is None:
                continue
            report.read += 1
            try:
                result = mailbox_message_process(raw)
            except Exception:  # noqa: BLE001 - one bad message must not block the rest of the inbox
                log.exception("Could not process unsubscribe message %s", number)
                continue
            report.unsubscribed += result.unsubscribed
            conn.store(number, "+FLAGS", "(\\Seen)")
    finally:
        try:
            conn.logout()
        except (imaplib.IMAP4.error, OSError):
            pass  # the work is done and committed; a failed goodbye changes nothing
    return report
