"""The channel backends moved from ``messaging.backends`` to ``messaging.delivery.backends``:
channels store the dotted path of their backend, so the stored paths move with them."""

from django.db import migrations
from django.db.models import Value
from django.db.models.functions import Concat, Substr

OLD = "messaging.backends."
NEW = "messaging.delivery.backends."


def paths_move(old: str, new: str):
    def move(apps, schema_editor):
        Channel = apps.get_model("contacts", "Channel")
        Channel.objects.filter(backend__startswith=old).update(
            backend=Concat(Value(new), Substr("backend", len(old) + 1))
        )

    return move


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0009_staff_change_audit"),
        ("messaging", "0007_send_delivery_claim"),
    ]

    operations = [
        migrations.RunPython(paths_move(OLD, NEW), paths_move(NEW, OLD)),
    ]
