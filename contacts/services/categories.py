"""Which topics a contact follows."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from contacts.models import Category, CategorySubscription, Contact, PreferenceChange
from contacts.rules import category_receives, names_listed
from contacts.selectors import message_names_using

from .audit import Source, change_record, contact_lock
from .errors import ObjectInUse
from .staff_audit import Action, field_values, model_created_record, model_update, staff_change_record

Status = CategorySubscription.Status
CATEGORY_FIELDS = ("name", "name_fr", "slug", "description", "description_fr", "public", "opt_in")


@transaction.atomic
def _category_status_set(*, contact: Contact, category: Category, status: str, source: Source | str) -> None:
    source = Source.of(source)
    contact_lock(contact)
    subscription = CategorySubscription.objects.filter(contact=contact, category=category).first()
    old = subscription.status if subscription else None
    # Unchanged in effect (an explicit "subscribed" on an opt-out category) writes nothing.
    if category_receives(category, old) == category_receives(category, status):
        return
    if subscription:
        subscription.status, subscription.source = status, source.label
        subscription.save(update_fields=["status", "source", "changed_at"])
    else:
        CategorySubscription.objects.create(contact=contact, category=category, status=status, source=source.label)
    change_record(
        contact=contact, kind=PreferenceChange.Kind.CATEGORY, source=source, old=old, new=status, category=category
    )


def category_subscribe(*, contact: Contact, category: Category, source: Source | str) -> None:
    """The contact receives the category's messages (needed for ``opt_in`` categories)."""
    _category_status_set(contact=contact, category=category, status=Status.SUBSCRIBED, source=source)


def category_unsubscribe(*, contact: Contact, category: Category, source: Source | str) -> None:
    """The contact stops receiving the category's messages; other messages are unaffected."""
    _category_status_set(contact=contact, category=category, status=Status.UNSUBSCRIBED, source=source)


@transaction.atomic
def category_create(
    *, acting_user, name: str, slug: str, description: str = "", public: bool = True, opt_in: bool = False,
    name_fr: str = "", description_fr: str = "",
) -> Category:
    """Create a category; the audit keeps who created it with its first values."""
    category = Category.objects.create(
        name=name, name_fr=name_fr, slug=slug, description=description, description_fr=description_fr,
        public=public, opt_in=opt_in,
    )
    model_created_record(instance=category, fields=CATEGORY_FIELDS, acting_user=acting_user, subject_type="category")
    return category


@transaction.atomic
def category_update(*, category: Category, acting_user, **values) -> Category:
    """Change a category's fields (``CATEGORY_FIELDS``); only changed fields are saved and audited."""
    locked = Category.objects.select_for_update().get(pk=category.pk)
    model_update(instance=locked, values=values, fields=CATEGORY_FIELDS, acting_user=acting_user, subject_type="category")
    return locked


@transaction.atomic
def category_delete(*, category: Category, acting_user) -> None:
    """Delete a category and the contacts' choices about it (the history keeps its rows).

    A category used by a message cannot go (the message would reach those who left it): this
    raises ``ObjectInUse`` naming the messages; the database's PROTECT agrees.
    """
    locked = Category.objects.select_for_update().get(pk=category.pk)
    if names := message_names_using(locked):
        raise ObjectInUse(
            _("%(category)s cannot be deleted: %(messages)s use it. Give those messages another category first.")
            % {"category": locked.name, "messages": names_listed(names)},
            names,
        )
    staff_change_record(
        acting_user=acting_user, subject_type="category", subject_id=locked.pk, subject_label=locked.name,
        action=Action.DELETED, changes={name: [value, None] for name, value in field_values(locked, CATEGORY_FIELDS).items()},
    )
    locked.delete()
