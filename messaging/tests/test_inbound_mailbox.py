"""The List-Unsubscribe mailto: address: unsubscribe emails read from an IMAP inbox."""

import logging
import re
import socketserver
import ssl
import subprocess
import threading
from email.message import EmailMessage

import pytest
from django.core.management import CommandError, call_command

from contacts.models import DoNotContact, PreferenceChange
from contacts.tests.factories import ContactFactory
from messaging.inbound.mailbox import mailbox_message_process
from messaging.public.tokens import send_token

from .test_public_page import delivered_send

pytestmark = pytest.mark.django_db


def unsubscribe_email(*, subject: str, to: str = "unsubscribe@prefs.example.com", body: str = "") -> bytes:
    message = EmailMessage()
    message["From"] = "Ada <ada@example.org>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body or "This message was sent by the mail client to unsubscribe.")
    return message.as_bytes()


class FakeImapServer(socketserver.ThreadingTCPServer):
    """Just enough IMAP4rev1 for one client session: login, select, search unseen, fetch, store, logout.
    Over TLS (IMAPS) when given a server-side SSL context."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, messages: list[bytes], tls: ssl.SSLContext | None = None):
        self.messages = [{"raw": raw, "seen": False, "fetched": 0} for raw in messages]
        self.logins: list[tuple[str, str]] = []
        self.tls = tls
        super().__init__(("127.0.0.1", 0), FakeImapHandler)

    def get_request(self):
        sock, address = super().get_request()
        if self.tls is None:
            return sock, address
        sock.settimeout(5)
        return self.tls.wrap_socket(sock, server_side=True), address  # a refused handshake: OSError, dropped


class FakeImapHandler(socketserver.StreamRequestHandler):
    def send(self, line: bytes) -> None:
        self.wfile.write(line + b"\r\n")

    def handle(self):
        server: FakeImapServer = self.server
        self.send(b"* OK [CAPABILITY IMAP4rev1] fake ready")
        while line := self.rfile.readline():
            tag, command, *rest = line.decode().rstrip("\r\n").split(" ", 2)
            args = rest[0] if rest else ""
            command = command.upper()
            if command == "CAPABILITY":
                self.send(b"* CAPABILITY IMAP4rev1")
            elif command == "LOGIN":
                server.logins.append(tuple(part.strip('"') for part in args.split(" ", 1)))
            elif command == "SELECT":
                self.send(f"* {len(server.messages)} EXISTS".encode())
            elif command == "SEARCH":
                unseen = [str(n) for n, m in enumerate(server.messages, 1) if not m["seen"]]
                self.send(("* SEARCH " + " ".join(unseen)).rstrip().encode())
            elif command == "FETCH":
                number = int(args.split(" ")[0])
                message = server.messages[number - 1]
                message["fetched"] += 1
                message["seen"] = message["seen"] or "PEEK" not in args.upper()  # as real servers do
                raw = message["raw"]
                self.wfile.write(f"* {number} FETCH (BODY[] {{{len(raw)}}}\r\n".encode() + raw + b")\r\n")
            elif command == "STORE":
                number = int(args.split(" ")[0])
                server.messages[number - 1]["seen"] = True
                self.send(f"* {number} FETCH (FLAGS (\\Seen))".encode())
            elif command == "LOGOUT":
                self.send(b"* BYE")
                self.send(f"{tag} OK LOGOUT completed".encode())
                return
            self.send(f"{tag} OK {command} completed".encode())


@pytest.fixture
def imap():
    servers = []

    def start(messages, tls=None):
        server = FakeImapServer(messages, tls)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_an_unsubscribe_email_with_the_token_in_its_subject_unsubscribes_the_sends_channel():
    ada = ContactFactory()
    send = delivered_send(ada, "email")
    result = mailbox_message_process(unsubscribe_email(subject=f"unsubscribe {send_token(send.pk)}"))
    assert (result.unsubscribed, result.send_id) == (True, send.pk)
    dnc = DoNotContact.objects.get(contact=ada)
    assert (dnc.channel.slug, dnc.reason, dnc.source) == ("email", "unsubscribed", "mailto")
    change = PreferenceChange.objects.get(contact=ada)
    assert (change.source, change.send_id) == ("mailto", send.pk)


def test_the_token_is_also_found_in_a_plus_address_or_the_body():
    ada, bob = ContactFactory(), ContactFactory()
    to_ada, to_bob = delivered_send(ada), delivered_send(bob)
    mailbox_message_process(unsubscribe_email(subject="Unsubscribe", to=f"unsubscribe+{send_token(to_ada.pk)}@prefs.example.com"))
    mailbox_message_process(unsubscribe_email(subject="Re: your newsletter", body=f"Please remove me.\n> unsubscribe {send_token(to_bob.pk)}"))
    assert set(DoNotContact.objects.values_list("contact_id", flat=True)) == {ada.pk, bob.pk}


def test_a_forged_token_or_a_plain_request_changes_nothing():
    ada = ContactFactory()
    token = send_token(delivered_send(ada).pk)
    forged = token[:-3] + ("abc" if not token.endswith("abc") else "xyz")
    assert not mailbox_message_process(unsubscribe_email(subject=f"unsubscribe {forged}")).unsubscribed
    assert not mailbox_message_process(unsubscribe_email(subject="unsubscribe me please")).unsubscribed
    assert not DoNotContact.objects.exists()


def test_the_command_reads_the_inbox_once_and_marks_each_message_read(imap, capsys):
    ada, bob = ContactFactory(), ContactFactory()
    server = imap([
        unsubscribe_email(subject=f"unsubscribe {send_token(delivered_send(ada).pk)}"),
        unsubscribe_email(subject="Out of office"),
        unsubscribe_email(subject=f"unsubscribe {send_token(delivered_send(bob, 'sms').pk)}"),
    ])
    url = f"imap://unsub%40prefs.example.com:pa%3Ass@127.0.0.1:{server.server_address[1]}/INBOX"

    call_command("process_unsubscribe_mailbox", url=url)
    call_command("process_unsubscribe_mailbox", url=url)

    assert server.logins == [("unsub@prefs.example.com", "pa:ss")] * 2
    assert all(message["seen"] for message in server.messages)
    output = capsys.readouterr().out
    assert re.findall(r"\d+ message\(s\) read, \d+ unsubscribe\(s\)", output) == [
        "3 message(s) read, 2 unsubscribe(s)", "0 message(s) read, 0 unsubscribe(s)"
    ]
    assert set(DoNotContact.objects.values_list("contact_id", "channel__slug")) == {(ada.pk, "email"), (bob.pk, "sms")}


def test_the_history_names_an_unsubscribe_email_as_such():
    from contacts.templatetags.staff_ui import source_display

    assert source_display("mailto") == "the contact, unsubscribe email"


# --- TLS: the certificate and the host name are verified before the password is sent -------------


def self_signed(tmp_path, name: str, san: str):
    """A self-signed certificate (its own CA) and key made with the openssl command line."""
    cert, key = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={name}", "-addext", f"subjectAltName={san}"],
        check=True, capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return cert, context


def imaps_url(server) -> str:
    return f"imaps://unsub%40prefs.example.com:pa%3Ass@127.0.0.1:{server.server_address[1]}/INBOX"


def test_a_self_signed_certificate_for_another_host_never_receives_the_password(imap, tmp_path):
    other_cert, other_tls = self_signed(tmp_path, "mail.example.net", "DNS:mail.example.net")
    server = imap([unsubscribe_email(subject="unsubscribe")], tls=other_tls)

    with pytest.raises(CommandError, match="CERTIFICATE_VERIFY_FAILED"):
        call_command("process_unsubscribe_mailbox", url=imaps_url(server))
    # Even trusted, a certificate for another name is refused: the host name is checked too.
    with pytest.raises(CommandError, match="CERTIFICATE_VERIFY_FAILED"):
        call_command("process_unsubscribe_mailbox", url=imaps_url(server), ca_file=str(other_cert))

    assert server.logins == []
    assert not server.messages[0]["seen"]


def test_with_a_private_ca_for_the_right_name_the_mailbox_is_read(imap, tmp_path, settings):
    ada = ContactFactory()
    cert, tls = self_signed(tmp_path, "imap-local", "IP:127.0.0.1")
    server = imap([unsubscribe_email(subject=f"unsubscribe {send_token(delivered_send(ada).pk)}")], tls=tls)
    settings.UNSUBSCRIBE_IMAP_CA_FILE = str(cert)

    call_command("process_unsubscribe_mailbox", url=imaps_url(server))

    assert server.logins == [("unsub@prefs.example.com", "pa:ss")]
    assert DoNotContact.objects.filter(contact=ada).exists()


def test_plain_imap_to_another_machine_is_refused_before_connecting():
    with pytest.raises(CommandError, match="in clear"):
        call_command("process_unsubscribe_mailbox", url="imap://u:secret@mail.example.net/INBOX")


# --- A message that cannot be parsed ----------------------------------------------------------------


def nested_multiparts(depth: int) -> bytes:
    head = b"From: ada@example.org\r\nTo: unsubscribe@prefs.example.com\r\nSubject: unsubscribe\r\nMIME-Version: 1.0\r\n"
    opening = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i) for i in range(depth))
    closing = b"".join(b"\r\n--b%d--" % i for i in reversed(range(depth)))
    return head + opening + b"Content-Type: text/plain\r\n\r\nhello" + closing + b"\r\n"


def test_an_unparseable_message_is_marked_read_and_logged_once_not_retried(imap, caplog, capsys):
    ada = ContactFactory()
    server = imap([nested_multiparts(3000), unsubscribe_email(subject=f"unsubscribe {send_token(delivered_send(ada).pk)}")])
    url = f"imap://u:p@127.0.0.1:{server.server_address[1]}/INBOX"

    with caplog.at_level(logging.WARNING, logger="messaging.inbound.mailbox"):
        for _run in range(3):
            call_command("process_unsubscribe_mailbox", url=url)

    assert [message["seen"] for message in server.messages] == [True, True]
    assert server.messages[0]["fetched"] == 1
    assert len([r for r in caplog.records if "cannot be parsed" in r.getMessage()]) == 1
    assert "2 message(s) read, 1 unsubscribe(s), 1 unreadable." in capsys.readouterr().out
    assert DoNotContact.objects.filter(contact=ada).exists()  # the bad message did not stop the good one


def test_a_message_that_fails_for_a_passing_reason_stays_unread_and_is_done_on_the_next_run(imap, monkeypatch):
    from django.db import OperationalError

    from messaging.inbound import mailbox

    ada = ContactFactory()
    server = imap([unsubscribe_email(subject=f"unsubscribe {send_token(delivered_send(ada).pk)}")])
    url = f"imap://u:p@127.0.0.1:{server.server_address[1]}/INBOX"
    real_unsubscribe = mailbox.channel_unsubscribe

    def database_gone(**kwargs):
        raise OperationalError("the database went away")

    monkeypatch.setattr(mailbox, "channel_unsubscribe", database_gone)
    call_command("process_unsubscribe_mailbox", url=url)
    assert not server.messages[0]["seen"] and not DoNotContact.objects.exists()

    monkeypatch.setattr(mailbox, "channel_unsubscribe", real_unsubscribe)
    call_command("process_unsubscribe_mailbox", url=url)
    assert server.messages[0]["seen"] and DoNotContact.objects.filter(contact=ada).exists()
