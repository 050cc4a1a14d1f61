"""The four reasons that were fixed in code become the first rows (with their French words), and
the answers already given point at them, with the label they were given under."""

from django.db import migrations

from messaging.bootstrap import DEFAULT_LEAVING_REASONS, leaving_reasons_ensure


def choices_seed(apps, schema_editor):
    Feedback = apps.get_model("messaging", "UnsubscribeFeedback")
    for value, choice in leaving_reasons_ensure(apps.get_model("messaging", "LeavingReasonChoice")):
        Feedback.objects.filter(reason=value).update(choice=choice, label=choice.label)


def choices_unseed(apps, schema_editor):
    Choice = apps.get_model("messaging", "LeavingReasonChoice")
    Feedback = apps.get_model("messaging", "UnsubscribeFeedback")
    for value, label, _label_fr, _asks_text in DEFAULT_LEAVING_REASONS:
        Feedback.objects.filter(choice__label=label).update(reason=value)
    Feedback.objects.filter(reason="").update(reason="other")
    Feedback.objects.update(choice=None)
    Choice.objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ('messaging', '0014_leaving_reason_choices'),
    ]

    operations = [
        migrations.RunPython(choices_seed, choices_unseed),
    ]
