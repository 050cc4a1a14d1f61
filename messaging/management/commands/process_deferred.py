import json

from django.core.management.base import BaseCommand

from messaging.tasks import process_deferred


class Command(BaseCommand):
    help = "Re-decide due deferred sends now (what the periodic task does every minute)."

    def handle(self, *args, **options):
        self.stdout.write(json.dumps(process_deferred(), indent=2))
