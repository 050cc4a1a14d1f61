import datetime

from django.db import migrations, models

EARLIEST, LATEST = datetime.date(2000, 1, 1), datetime.date(2099, 12, 31)


def clamp_stored_pauses(apps, schema_editor):
    """Pauses saved before the bound (e.g. to 9999-12-31) move inside it, each with its history row."""
    ChannelPreference = apps.get_model("contacts", "ChannelPreference")
    PreferenceChange = apps.get_model("contacts", "PreferenceChange")
    outside = ChannelPreference.objects.filter(pause_from__isnull=False).filter(
        models.Q(pause_from__lt=EARLIEST) | models.Q(pause_from__gt=LATEST)
        | models.Q(pause_to__lt=EARLIEST) | models.Q(pause_to__gt=LATEST)
    ).select_related("channel")
    for pref in outside:
        old = {"from": pref.pause_from.isoformat(), "to": pref.pause_to.isoformat()}
        pref.pause_from = min(max(pref.pause_from, EARLIEST), LATEST)
        pref.pause_to = min(max(pref.pause_to, EARLIEST), LATEST)
        pref.save(update_fields=["pause_from", "pause_to"])
        PreferenceChange.objects.create(
            contact_id=pref.contact_id, kind="pause", channel_id=pref.channel_id, subject=pref.channel.slug,
            old_value=old, new_value={"from": pref.pause_from.isoformat(), "to": pref.pause_to.isoformat()},
            source="system",
        )


class Migration(migrations.Migration):

    dependencies = [
        ("contacts", "0007_channel_backend_from_registry"),
    ]

    operations = [
        migrations.RunPython(clamp_stored_pauses, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="channelpreference",
            constraint=models.CheckConstraint(
                condition=models.Q(pause_from__isnull=True)
                | models.Q(pause_from__gte=EARLIEST, pause_to__lte=LATEST),
                name="chpref_pause_within_range",
            ),
        ),
    ]
