import imaplib

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from messaging.inbound.mailbox import mailbox_process


class Command(BaseCommand):
    help = (
        "Read the unsubscribe mailbox (UNSUBSCRIBE_IMAP_URL) and unsubscribe the sender of every unread "
        "List-Unsubscribe email from the channel of the message it answers. Run it every minute or so."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", default="", help="imaps://user:password@host:993/INBOX (default: UNSUBSCRIBE_IMAP_URL)")
        parser.add_argument(
            "--ca-file", default="",
            help="PEM file of the CA that signed the IMAP server's certificate, instead of the system's CAs "
                 "(default: UNSUBSCRIBE_IMAP_CA_FILE)",
        )

    def handle(self, *args, url: str = "", ca_file: str = "", **options):
        url = url or settings.UNSUBSCRIBE_IMAP_URL
        ca_file = ca_file or settings.UNSUBSCRIBE_IMAP_CA_FILE
        if not url:
            raise CommandError("Set UNSUBSCRIBE_IMAP_URL (or pass --url) to the unsubscribe mailbox.")
        try:
            report = mailbox_process(url, ca_file=ca_file)
        except (OSError, ValueError, imaplib.IMAP4.error) as error:
            raise CommandError(f"Could not read the mailbox: {error}") from error
        self.stdout.write(
            f"{report.read} message(s) read, {report.unsubscribed} unsubscribe(s), {report.unreadable} unreadable."
        )
