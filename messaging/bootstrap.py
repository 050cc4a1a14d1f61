"""The reasons for leaving a new installation offers: created by a data migration and ensured again
after every migrate or flush (tests flush tables) when there are none at all. Staff cannot delete
a choice, only deactivate it, so an empty table only ever means a fresh database."""

# (the value answers were stored under before choices were rows, label, French label, asks for free text)
DEFAULT_LEAVING_REASONS = (
    ("too_many", "Too many messages", "Trop de messages", False),
    ("not_relevant", "Not relevant to me", "Cela ne me concerne pas", False),
    ("never_signed_up", "I never signed up", "Je ne me suis jamais inscrit", False),
    ("other", "Other", "Autre", True),
)


def leaving_reasons_ensure(choice_model, using: str = "default") -> list:
    """The default choices, created when the table is empty; returns (old value, choice) pairs created."""
    if choice_model.objects.using(using).exists():
        return []
    return [
        (value, choice_model.objects.using(using).create(
            label=label, label_fr=label_fr, position=position * 10, asks_text=asks_text))
        for position, (value, label, label_fr, asks_text) in enumerate(DEFAULT_LEAVING_REASONS, start=1)
    ]


def leaving_reasons_ensure_after_migrate(sender, *, using="default", **kwargs) -> None:
    from django.db import connections

    from messaging.models import LeavingReasonChoice

    # Migrating back before the table existed leaves nothing to fill.
    if LeavingReasonChoice._meta.db_table in connections[using].introspection.table_names():
        leaving_reasons_ensure(LeavingReasonChoice, using=using)
