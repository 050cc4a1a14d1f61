"""Two staff edits of one row at once (webhook endpoints: webhooks/tests/test_staff_edit_locks.py): the second waits for the first, so its audit row says what
it really changed (from the first's value, not from a value read before the first committed)."""

import pytest

from contacts.models import StaffChange
from contacts.services import category_update
from contacts.services.segments import segment_update
from contacts.tests.concurrency import race
from contacts.tests.factories import CategoryFactory, SegmentFactory, UserFactory
from messaging.models import LeavingReasonChoice, PreferencePage
from messaging.services.pages import page_update
from messaging.services.reasons import leaving_reason_update

pytestmark = pytest.mark.django_db(transaction=True)

EDITS = {  # what is edited: (the row, a rename of it by the service that edits it)
    "category": (lambda: CategoryFactory(name="Start"),
                 lambda row, user, name: category_update(category=row, acting_user=user, name=name)),
    "segment": (lambda: SegmentFactory(name="Start"),
                lambda row, user, name: segment_update(segment=row, acting_user=user, name=name)),
    "page": (lambda: PreferencePage.objects.create(name="Start"),
             lambda row, user, name: page_update(page=row, acting_user=user, values={"name": name})),
    "reason": (lambda: LeavingReasonChoice.objects.create(label="Start", position=99),
               lambda row, user, name: leaving_reason_update(choice=row, acting_user=user, values={"label": name})),
}


@pytest.mark.parametrize("what", EDITS)
def test_two_renames_at_once_are_audited_one_after_the_other(what):
    make, rename = EDITS[what]
    row, user = make(), UserFactory()
    race(lambda: rename(row, user, "First"), lambda: rename(row, user, "Second"))
    audit = StaffChange.objects.filter(subject_id=row.pk, action="updated").order_by("id")
    field = "label" if what == "reason" else "name"
    assert [change.changes[field] for change in audit] == [["Start", "First"], ["First", "Second"]]

