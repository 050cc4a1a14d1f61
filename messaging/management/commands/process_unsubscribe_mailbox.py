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

    def handle(self, *args, url: str = "", **options):
        url = url or settings.UNSUBSCRIBE_IMAP_URL
        if not url:
            raise CommandError("Set UNSUBSCRIBE_IMAP_URL (or pass --url) to the unsubscribe mailbox.")
        try:
            report = mailbox_process(url)
        except (OSError, ValueError, imaplib.IMAP4.error) as error:
            raise CommandError(f"Could not read the mailbox: {error}") from error
        self.stdout.write(f"{report.read} message(s) read, {report.unsubscribed} unsubscribe(s).")
