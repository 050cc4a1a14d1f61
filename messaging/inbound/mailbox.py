"""Unsubscribe emails sent to the ``mailto:`` address of List-Unsubscribe, read from an IMAP inbox.

The address is given as ``mailto:box@example.com?subject=unsubscribe%20<token>``; mail clients
send it with that subject. The link token is the authority, exactly as for the one-click URL:
the sender's address is not trusted for anything (it is easy to forge, and forwarding changes it).
"""

from __future__ import annotations

import email
import email.policy
import imaplib
import ipaddress
import logging
import re
import ssl
import urllib.parse
from dataclasses import dataclass

from contacts.services import Source, channel_unsubscribe
from messaging.models import Send
from messaging.public.tokens import send_id_from_token

log = logging.getLogger(__name__)

# A link token: base-62 send id, a dot, an unpadded url-safe base64 signature.
TOKEN_RE = re.compile(r"[0-9A-Za-z]{1,12}\.[A-Za-z0-9_-]{20,}")


class MessageUnreadable(Exception):
    """The bytes are not an email the parser can read (nesting too deep, broken structure)."""


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


def message_tokens(raw: bytes) -> list[str]:
    """The candidate tokens of one raw RFC 822 message; MessageUnreadable when it cannot be parsed."""
    try:
        return tokens_in(email.message_from_bytes(raw, policy=email.policy.default))
    except Exception as error:  # noqa: BLE001 - parsing has no side effect: whatever it raises, the bytes are at fault
        raise MessageUnreadable(f"{type(error).__name__}: {str(error)[:200]}") from None


def mailbox_message_process(raw: bytes) -> MailboxResult:
    """Unsubscribe the send's channel named by the first valid token in one raw RFC 822 message."""
    for token in message_tokens(raw):
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
    unreadable: int = 0


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def imap_connect(url: str, *, ca_file: str = "") -> tuple[imaplib.IMAP4, str]:
    """Log in to ``imaps://user:password@host[:port]/FOLDER``. The server's certificate and host name
    are verified before the password is sent, against the system's CAs or only ``ca_file`` (a
    private CA) when given. ``imap://`` sends the password in clear: only to this machine."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("imap", "imaps"):
        raise ValueError("The mailbox URL must start with imaps:// (or imap:// for a server on this machine).")
    host = parts.hostname or ""
    if parts.scheme == "imap" and not _loopback(host):
        raise ValueError("imap:// would send the password in clear over the network: use imaps://.")
    if parts.scheme == "imaps":
        context = ssl.create_default_context(cafile=ca_file or None)  # CERT_REQUIRED and host name checked
        conn = imaplib.IMAP4_SSL(host, parts.port or 993, ssl_context=context, timeout=30)
    else:
        conn = imaplib.IMAP4(host, parts.port or 143, timeout=30)
    conn.login(urllib.parse.unquote(parts.username or ""), urllib.parse.unquote(parts.password or ""))
    return conn, urllib.parse.unquote(parts.path.lstrip("/")) or "INBOX"


def mailbox_process(url: str, *, ca_file: str = "") -> MailboxReport:
    """Read every unread message of the folder, act on it, and mark it read (processing is idempotent,
    so a message read twice after a crash unsubscribes nothing more). A message that cannot be
    parsed is marked read and logged once: it would fail the same way on every run. One that fails
    for another reason (the database) stays unread and is tried again on the next run."""
    report = MailboxReport()
    conn, folder = imap_connect(url, ca_file=ca_file)
    try:
        conn.select(folder)
        _, data = conn.search(None, "UNSEEN")
        for number in (data[0] or b"").split():
            # PEEK: the message stays unread until it has been acted on.
            _, parts = conn.fetch(number, "(BODY.PEEK[])")
            raw = next((part[1] for part in parts if isinstance(part, tuple)), None)
            if raw is None:
                continue
            report.read += 1
            try:
                result = mailbox_message_process(raw)
            except MessageUnreadable as error:
                log.warning("Unsubscribe message %s cannot be parsed (%s): marked read, not retried", number.decode(), error)
                report.unreadable += 1
                conn.store(number, "+FLAGS", "(\\Seen)")
                continue
            except Exception:  # noqa: BLE001 - one bad message must not block the rest of the inbox
                log.exception("Could not process unsubscribe message %s; it stays unread for the next run", number.decode())
                continue
            report.unsubscribed += result.unsubscribed
            conn.store(number, "+FLAGS", "(\\Seen)")
    finally:
        try:
            conn.logout()
        except (imaplib.IMAP4.error, OSError):
            pass  # the work is done and committed; a failed goodbye changes nothing
    return report
