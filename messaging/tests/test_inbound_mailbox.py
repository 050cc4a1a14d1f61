"""The List-Unsubscribe mailto: address: unsubscribe emails read from an IMAP inbox."""

import re
import socketserver
import threading
from email.message import EmailMessage

import pytest
from django.core.management import call_command

from contacts.models import DoNotContact, PreferenceChange
from contacts.tests.factories import ContactFactory
from messaging.inbound.mailbox import mailbox_message_process
from messaging.tokens import send_token

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
    """Just enough IMAP4rev1 for one client session: login, select, search unseen, fetch, store, logout."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, messages: list[bytes]):
        self.messages = [{"raw": raw, "seen": False} for raw in messages]
        self.logins: list[tuple[str, str]] = []
        super().__init__(("127.0.0.1", 0), FakeImapHandler)


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
                raw = server.messages[number - 1]["raw"]
                self.wfile.write(f"* {number} FETCH (RFC822 {{{len(raw)}}}\r\n".encode() + raw + b")\r\n")
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

    def start(messages):
        server = FakeImapServer(messages)
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
