"""Rows the product cannot run without: the email and SMS channels and the settings row.

Created by a data migration and ensured again after every migrate or flush (tests flush tables),
without touching rows staff already edited.
"""

DEFAULT_CHANNELS = [
    {"slug": "email", "name": "Email", "address_field": "email", "position": 1,
     "backend": "messaging.delivery.backends.email.EmailBackend"},
    {"slug": "sms", "name": "SMS", "address_field": "phone", "position": 2,
     "backend": "messaging.delivery.backends.sms.DevelopmentSmsBackend"},
]


def default_rows_ensure(channel_model, settings_model, using: str = "default") -> None:
    for row in DEFAULT_CHANNELS:
        channel_model.objects.using(using).get_or_create(slug=row["slug"], defaults=row)
    settings_model.objects.using(using).get_or_create(pk=1)


def default_rows_ensure_after_migrate(sender, *, using="default", **kwargs) -> None:
    from contacts.models import Channel, PreferenceSettings

    default_rows_ensure(Channel, PreferenceSettings, using=using)
