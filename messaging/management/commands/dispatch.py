import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from messaging import services
from messaging.models import Dispatch, Message
from messaging.selectors import dispatch_progress


class Command(BaseCommand):
    help = "Send a message to its segments through the Celery workers."

    def add_arguments(self, parser):
        parser.add_argument("message_id", type=int)
        parser.add_argument("--wait", action="store_true", help="Show a progress bar until every batch is done.")
        parser.add_argument("--batch-size", type=int, default=5000)

    def handle(self, *args, message_id: int, wait: bool, batch_size: int, **options):
        message = Message.objects.filter(pk=message_id).first()
        if message is None:
            raise CommandError(f"No message {message_id}.")
        try:
            dispatch = services.dispatch_create(message=message, batch_size=batch_size)
        except services.DispatchInvalid as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Dispatch {dispatch.pk} of “{message}” queued.")
        if not wait:
            return
        with tqdm(desc="recipients", unit="rcpt", total=None, file=self.stderr) as bar:
            while True:
                progress = dispatch_progress(dispatch=Dispatch.objects.get(pk=dispatch.pk))
                if progress.recipients is not None:
                    bar.total = progress.recipients
                bar.n = progress.decided
                bar.refresh()
                if progress.done:
                    break
                time.sleep(0.5)
        for outcome, count in progress.counts.items():
            self.stdout.write(f"{outcome:>20}: {count}")
