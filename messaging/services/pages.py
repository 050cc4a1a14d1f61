"""Staff writes on preference pages: create, rename, set a language's blocks, publish, delete.

Every write is atomic and leaves a staff audit row. A published page stays publishable: an edit
that would break a publish check is refused with the same words the publish button gives.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from contacts.models import StaffChange
from contacts.services.staff_audit import audit_value, model_created_record, model_update, staff_change_record
from django.core.exceptions import ValidationError

from messaging.branding import colours_clean, logo_clean
from messaging.models import PreferencePage, PreferencePageVersion
from messaging.pages import blocks_clean, version_problems

Action = StaffChange.Action
SUBJECT = "preference_page"
PAGE_FIELDS = ("name", "default_language")


class PageCannotPublish(Exception):
    """The reasons, in words for the editor, why the page cannot be (or stay) published."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(" ".join(problems))


class PageInUse(Exception):
    """Messages use the page: deleting it would leave their links without the page they chose."""

    def __init__(self, page: PreferencePage, names: list[str]):
        self.page, self.names = page, names
        super().__init__(
            gettext("%(page)s is used by these messages: %(names)s. Choose another page for them first.")
            % {"page": page.name, "names": ", ".join(names)}
        )


def language_name(code: str) -> str:
    return str(dict(settings.LANGUAGES).get(code, code))


def page_problems(page: PreferencePage, versions: dict[str, list[dict]]) -> list[str]:
    """Why ``page`` with these versions (language → blocks) cannot be published; empty when it can."""
    problems = []
    if page.default_language not in versions:
        problems.append(
            gettext("The page has no version in its default language (%(language)s).")
            % {"language": language_name(page.default_language)}
        )
    for language, blocks in sorted(versions.items()):
        problems.extend(version_problems(blocks, language_name(language)))
    return problems


def _versions(page: PreferencePage) -> dict[str, list[dict]]:
    return {version.language: version.blocks for version in page.versions.all()}


def _locked(page: PreferencePage) -> PreferencePage:
    return PreferencePage.objects.select_for_update().get(pk=page.pk)


@transaction.atomic
def page_create(*, acting_user, name: str, default_language: str) -> PreferencePage:
    """A new draft page, without versions yet."""
    page = PreferencePage.objects.create(name=name, default_language=default_language)
    model_created_record(instance=page, fields=PAGE_FIELDS, acting_user=acting_user, subject_type=SUBJECT)
    return page


@transaction.atomic
def page_update(*, page: PreferencePage, acting_user, values: dict[str, Any]) -> PreferencePage:
    """Rename the page or change its default language; a published page must keep a version in it."""
    locked = _locked(page)
    if locked.published and "default_language" in values:
        probe = PreferencePage(default_language=values["default_language"])
        if problems := page_problems(probe, _versions(locked)):
            raise PageCannotPublish(problems)
    model_update(instance=locked, values=values, fields=PAGE_FIELDS, acting_user=acting_user, subject_type=SUBJECT)
    return locked


@transaction.atomic
def page_version_save(*, page: PreferencePage, acting_user, language: str, blocks: list[dict]) -> PreferencePageVersion:
    """Set the blocks of one language (checked by ``messaging.pages.blocks_clean``; raises
    ``ValidationError``). On a published page the result must still pass the publish checks."""
    locked = _locked(page)
    cleaned = blocks_clean(blocks)
    if locked.published:
        versions = _versions(locked)
        versions[language] = cleaned
        if problems := page_problems(locked, versions):
            raise PageCannotPublish(problems)
    version, created = PreferencePageVersion.objects.get_or_create(page=locked, language=language)
    before = [] if created else version.blocks
    if created or before != cleaned:
        version.blocks = cleaned
        version.save(update_fields=["blocks"])
        locked.save(update_fields=["updated_at"])
        staff_change_record(
            acting_user=acting_user, subject_type=SUBJECT, subject_id=locked.pk, subject_label=locked.name,
            action=Action.UPDATED, changes={f"{language}.blocks": [before, cleaned]},
        )
    return version


@transaction.atomic
def page_publish(*, page: PreferencePage, acting_user) -> PreferencePage:
    """Publish the page once every version passes ``page_problems``; else ``PageCannotPublish``
    with the reasons. Publishing a published page changes nothing."""
    locked = _locked(page)
    if problems := page_problems(locked, _versions(locked)):
        raise PageCannotPublish(problems)
    if locked.published_at is None:
        locked.published_at = timezone.now()
        locked.save(update_fields=["published_at", "updated_at"])
        staff_change_record(
            acting_user=acting_user, subject_type=SUBJECT, subject_id=locked.pk, subject_label=locked.name,
            action=Action.UPDATED, changes={"published_at": [None, audit_value(locked.published_at)]},
        )
    page.published_at = locked.published_at
    return locked


@transaction.atomic
def page_delete(*, page: PreferencePage, acting_user) -> None:
    """Delete a page no message uses; else ``PageInUse`` naming them (the database's PROTECT agrees)."""
    locked = _locked(page)
    names = list(locked.messages.order_by("name").values_list("name", flat=True))
    if names:
        raise PageInUse(locked, names)
    staff_change_record(
        acting_user=acting_user, subject_type=SUBJECT, subject_id=locked.pk, subject_label=locked.name,
        action=Action.DELETED,
    )
    locked.delete()


@transaction.atomic
def page_brand_update(
    *, page: PreferencePage, acting_user, background: str, text: str, footer_text: str,
    logo=None, remove_logo: bool = False,
) -> PreferencePage:
    """Set the page's colours (both or neither, 4.5:1 contrast at least), footer and logo (decoded,
    stripped and re-encoded by ``messaging.branding.logo_clean``). Raises ``ValidationError`` and
    changes nothing on bad input; the old logo file is removed once the new one is committed."""
    background, text = colours_clean(background, text)
    footer_text = footer_text.strip()
    if len(footer_text) > 1000:
        raise ValidationError({"footer_text": gettext("At most 1000 characters.")})
    cleaned = logo_clean(logo) if logo is not None else None
    locked = _locked(page)
    old_logo = locked.logo.name
    if model_update(
        instance=locked, values={"brand_background": background, "brand_text": text, "footer_text": footer_text},
        fields=("brand_background", "brand_text", "footer_text"), acting_user=acting_user, subject_type=SUBJECT,
    ):
        # The stylesheet's URL carries the page's version: new colours, a new URL past browser caches.
        locked.save(update_fields=["updated_at"])
    if cleaned is not None or (remove_logo and old_logo):
        if cleaned is not None:
            locked.logo.save(cleaned.name, cleaned, save=False)
        else:
            locked.logo = ""
        locked.save(update_fields=["logo", "updated_at"])
        staff_change_record(
            acting_user=acting_user, subject_type=SUBJECT, subject_id=locked.pk, subject_label=locked.name,
            action=Action.UPDATED, changes={"logo": [old_logo or None, locked.logo.name or None]},
        )
        if old_logo:
            storage = locked.logo.storage
            transaction.on_commit(lambda: storage.delete(old_logo))
    return locked
