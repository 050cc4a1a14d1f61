"""The staff UI (SPEC §5): function views that parse input with a form, read through selectors
and write through ``contacts.services``.

Every page needs a login and a view permission; every change needs a change permission, so a
member of the Viewers group who forges a POST gets 403. htmx requests get the partial they
asked for; the same URLs work as full pages without JavaScript.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.db.utils import DatabaseError
from django.contrib.humanize.templatetags.humanize import intcomma
from django.template.loader import render_to_string
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from contacts import selectors, services
from contacts.forms import (
    BulkActionForm,
    CategoryForm,
    ChannelDefaultCapFormSet,
    ContactFilterForm,
    ContactForm,
    PreferenceSettingsForm,
    PreferencesForm,
    FilterCountForm,
    SegmentForm,
    SegmentMemberAddForm,
    StaffTimeZoneForm,
)
from contacts.field_forms import ContactFieldFilterForm, ContactFieldValuesForm
from contacts.models import BulkAction, Category, Channel, Contact, ContactField, PreferenceSettings, Segment
from contacts.selectors.fields import contact_field_rows
from contacts.services.fields import contact_fields_update, field_value_text
from contacts.services.dynamic_segments import segment_rebuild_request
from contacts.query import TimelineCursorForm, page_number, record_count
from contacts.timeline import contact_timeline
from contacts.services.staff_preferences import staff_time_zone, staff_time_zone_set
from contacts.services import (
    ObjectInUse,
    PreferencesInvalid,
    Source,
    channel_default_cap_set,
    channel_dnc_clear,
    contact_preferences_update,
    contact_save,
    segment_membership_add,
    segment_membership_remove,
    settings_update,
)

LOGIN_URL = reverse_lazy("contacts:login")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CONTACTS_PER_PAGE = 25
MEMBERS_PER_PAGE = 50

# Client events (HX-Trigger): the profile refreshes on the first, the modal closes on the second.
PROFILE_CHANGED, MODAL_CLOSE, STAFF_MESSAGE = "profileChanged", "modalClose", "staffMessage"


def staff_page(*, view: str, change: str | None = None):
    """Login, then ``view`` permission to read and ``change`` permission to POST (else 403)."""

    def decorator(function):
        @wraps(function)
        def wrapper(request: HttpRequest, *args, **kwargs):
            if not request.user.is_authenticated:
                if request.htmx:
                    # The page the user is on, not the fragment's URL; redirect_to_login encodes it.
                    login_url = redirect_to_login(request.htmx.current_url_abs_path or "/", LOGIN_URL).url
                    return HttpResponseClientRedirect(login_url)
                return redirect_to_login(request.get_full_path(), LOGIN_URL)
            needed = view if request.method in SAFE_METHODS else change
            if needed is None or not request.user.has_perm(needed):
                raise PermissionDenied
            return function(request, *args, **kwargs)

        return wrapper

    return decorator


def _notify(response: HttpResponse, text: str, *, level: str = "success") -> HttpResponse:
    return trigger_client_event(response, STAFF_MESSAGE, {"text": text, "level": level})


# --- Shell -------------------------------------------------------------------------------------

login = auth_views.LoginView.as_view(template_name="registration/login.html", redirect_authenticated_user=True)
logout = auth_views.LogoutView.as_view(next_page=LOGIN_URL)


# --- Contacts ------------------------------------------------------------------------------------

SORTABLE_COLUMNS = [
    ("name", gettext_lazy("Name")),
    ("email", gettext_lazy("Email")),
    ("phone", gettext_lazy("Phone")),
    ("created", gettext_lazy("Created")),
]


def _sort_columns(current: str) -> list[dict]:
    columns = []
    for key, label in SORTABLE_COLUMNS:
        active = current.lstrip("-") == key
        descending = active and current.startswith("-")
        columns.append(
            {"key": key, "label": label, "active": active, "descending": descending,
             "next": key if descending or not active else f"-{key}"}
        )
    return columns


def contacts_filtered(params) -> tuple[ContactFilterForm, ContactFieldFilterForm, object]:
    """The contacts the list's filters select: the list and its CSV export read the same ones.

    An invalid filter is shown at its field and ignored; the valid ones still apply.
    """
    form = ContactFilterForm(params)
    form.is_valid()
    field_form = ContactFieldFilterForm(params, definitions=list(ContactField.objects.all()))
    contacts = field_form.apply(selectors.contact_list(**form.selector_arguments()))
    return form, field_form, contacts


@require_http_methods(["GET"])
@staff_page(view="contacts.view_contact")
def contact_list(request: HttpRequest) -> HttpResponse:
    form, field_form, contacts = contacts_filtered(request.GET)
    arguments = form.selector_arguments()
    filtered = form.is_filtered() or field_form.is_filtered()
    page = selectors.contact_list_page(
        contacts=contacts,
        page=form.cleaned_data.get("page") or 1,
        per_page=CONTACTS_PER_PAGE,
        filtered=filtered,
    )
    field_columns = field_form.columns()
    for contact in page.rows:
        contact.field_cells = [field_value_text((contact.fields or {}).get(field.key)) for field in field_columns]
    context = {
        "form": form,
        "field_form": field_form,
        "field_columns": field_columns,
        "page": page,
        "channels": list(Channel.objects.all()),
        "columns": _sort_columns(arguments["sort"]),
        "filtered": filtered,
    }
    return render(request, "contacts/contact_list.html", context)


# --- Bulk actions on the filtered list --------------------------------------------------------------


def _bulk_filters(query: str) -> tuple[ContactFilterForm, dict | None]:
    """The list's filters from its query string; None when one is invalid (the list ignores it,
    an action must not: it would touch more contacts than the list showed)."""
    params = QueryDict(query)
    form = ContactFilterForm(params)
    field_form = ContactFieldFilterForm(params, definitions=list(ContactField.objects.all()))
    if not form.is_valid() or not field_form.is_valid():
        form.field_errors = field_form.errors  # shown with the others
        return form, None
    stored = selectors.contact_filters_stored(form.selector_arguments())
    if field_form.filter:
        field_filter = field_form.filter
        stored["field_filter"] = {**field_filter, "field": field_filter["field"].key}
    return form, stored


@require_http_methods(["GET", "POST"])
@staff_page(view="contacts.change_contact", change="contacts.change_contact")
def bulk_action(request: HttpRequest) -> HttpResponse:
    """Choose an action for the filtered list, see how many contacts it changes, confirm, run."""
    query = request.POST.get("list_query", "") if request.method == "POST" else request.GET.urlencode()
    query = QueryDict(query).copy()
    query.pop("page", None)
    query = query.urlencode()
    filter_form, filters = _bulk_filters(query)
    form = BulkActionForm(request.POST or None)
    context = {"form": form, "filter_form": filter_form, "list_query": query, "filters_valid": filters is not None}
    if request.method == "POST" and filters is not None and form.is_valid():
        data = form.cleaned_data
        scope = {"kind": data["kind"], "filters": filters, "segment": data["segment"], "channel": data["channel"]}
        if request.POST.get("step") == "confirm":
            expected = record_count(request.POST.get("expected"))
            try:
                action = services.bulk_action_create(**scope, expected=expected, acting_user=request.user)
            except services.BulkActionStale as stale:
                messages.error(request, str(stale))
            else:
                return redirect("contacts:bulk_action_detail", pk=action.pk)
        matching, changing = services.bulk_action_scope(**scope)
        context.update(confirm=True, matching=matching, changing=changing, inline_max=settings.CONTACTS_BULK_INLINE_MAX,
                       kind_label=BulkAction.Kind(data["kind"]).label)
    return render(request, "contacts/bulk_action.html", context)


@require_http_methods(["GET"])
@staff_page(view="contacts.change_contact")
def bulk_action_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The job's progress (polled while it runs), then its result."""
    action = get_object_or_404(BulkAction.objects.select_related("segment", "channel"), pk=pk)
    template = "contacts/bulk_action_detail.html#progress" if request.htmx else "contacts/bulk_action_detail.html"
    return render(request, template, {"action": action})


@require_http_methods(["GET", "POST"])
@staff_page(view="contacts.add_contact", change="contacts.add_contact")
def contact_create(request: HttpRequest) -> HttpResponse:
    form = ContactForm(request.POST or None)
    field_form = ContactFieldValuesForm(request.POST or None, definitions=list(ContactField.objects.all()))
    # All or nothing: the details and the custom fields are both valid before anything is written.
    if request.method == "POST" and form.is_valid() and field_form.is_valid():
        with transaction.atomic():
            source = Source.staff(request.user)
            contact = contact_save(contact=form.save(commit=False), source=source)
            contact_fields_update(contact=contact, values=field_form.values, source=source)
        messages.success(request, _("Contact %(name)s created.") % {"name": contact})
        return redirect("contacts:contact_detail", pk=contact.pk)
    return render(request, "contacts/contact_form.html", {"form": form, "field_form": field_form})


def _profile_context(contact: Contact) -> dict:
    profile = selectors.contact_profile(contact=contact)
    return {"contact": contact, "profile": profile, "custom_fields": contact_field_rows(contact),
            **_history_lookups(profile.state)}


def _history_lookups(state: selectors.PreferenceState) -> dict:
    """Names for the timeline, keyed as history rows refer to them (no query per row)."""
    return {
        "channel_names": {channel.slug: channel.name for channel in state.channels},
        "category_names": {category.pk: category.name for category in state.categories},
        "segment_names": {segment.pk: segment.name for segment in state.segments},
    }


@require_http_methods(["GET"])
@staff_page(view="contacts.view_contact")
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=pk)
    context = _profile_context(contact)
    if request.htmx and request.GET.get("partial") == "profile":
        return render(request, "contacts/contact_detail.html#profile", context)
    return render(request, "contacts/contact_detail.html", context)


@require_http_methods(["GET"])
@staff_page(view="contacts.view_contact")
def contact_history(request: HttpRequest, pk: int) -> HttpResponse:
    """Older timeline items, appended below the ones shown."""
    contact = get_object_or_404(Contact, pk=pk)
    cursor = TimelineCursorForm(request.GET)
    if not cursor.is_valid():
        return HttpResponseBadRequest(_("This is not a moment in the timeline."), content_type="text/plain")
    before = cursor.cleaned_data["before"]
    state = selectors.contact_preference_state(contact=contact)
    timeline = contact_timeline(contact=contact, before=before)
    context = {"contact": contact, "timeline": timeline, "older": True, **_history_lookups(state)}
    return render(request, "contacts/contact_detail.html#timeline-items", context)


@require_http_methods(["GET", "POST"])
@staff_page(view="contacts.change_contact", change="contacts.change_contact")
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=pk)
    form = ContactForm(request.POST or None, instance=contact)
    field_form = ContactFieldValuesForm(
        request.POST or None, definitions=list(ContactField.objects.all()), contact=contact
    )
    if request.method == "POST" and form.is_valid() and field_form.is_valid():
        with transaction.atomic():
            source = Source.staff(request.user)
            contact_save(contact=form.save(commit=False), source=source)
            contact_fields_update(contact=contact, values=field_form.values, source=source)
        messages.success(request, _("Contact details saved."))
        return redirect("contacts:contact_detail", pk=contact.pk)
    return render(request, "contacts/contact_form.html", {"form": form, "field_form": field_form, "contact": contact})


@require_http_methods(["GET", "POST"])
@staff_page(view="contacts.delete_contact", change="contacts.delete_contact")
def contact_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, then erase the contact; the staff audit keeps a tombstone without personal data."""
    contact = get_object_or_404(Contact, pk=pk)
    if request.method == "POST":
        if request.POST.get("confirm") != "yes":
            messages.error(request, _("Tick the box to confirm the deletion."))
            return redirect("contacts:contact_delete", pk=contact.pk)
        services.contact_delete(contact=contact, acting_user=request.user)
        messages.success(request, _("Contact %(id)s deleted.") % {"id": pk})
        return redirect("contacts:contact_list")
    context = {"contact": contact, "counts": selectors.contact_erasure_counts(contact=contact)}
    return render(request, "contacts/contact_delete.html", context)


@require_http_methods(["GET", "POST"])
@staff_page(view="contacts.view_contact", change="contacts.change_contact")
def contact_preferences(request: HttpRequest, pk: int) -> HttpResponse:
    """The three-tab Preferences modal: one save for all tabs through ``contact_preferences_update``."""
    contact = get_object_or_404(Contact, pk=pk)
    state = selectors.contact_preference_state(contact=contact)
    form = PreferencesForm(request.POST or None, state=state, contact=contact)
    if request.method == "POST" and form.is_valid():
        try:
            contact_preferences_update(contact=contact, data=form.preferences_data(), source=Source.staff(request.user))
        except PreferencesInvalid as invalid:
            form.add_service_errors(invalid.errors)
        else:
            text = _("Preferences of %(name)s saved.") % {"name": contact}
            if not request.htmx:
                messages.success(request, text)
                return redirect("contacts:contact_detail", pk=contact.pk)
            response = HttpResponse(status=204)
            trigger_client_event(response, PROFILE_CHANGED)
            trigger_client_event(response, MODAL_CLOSE)
            return _notify(response, text)
    context = {"contact": contact, "form": form, "state": state}
    if request.htmx:
        return render(request, "contacts/preferences.html#modal", context)
    # The full page (no JavaScript, or a bookmarked link) shows the three sections one under another.
    return render(request, "contacts/preferences.html", {**context, "as_page": True})


@require_POST
@staff_page(view="contacts.view_contact", change="contacts.change_contact")
def contact_dnc_clear(request: HttpRequest, pk: int, channel: str) -> HttpResponse:
    """The explicit staff action that lifts a bounce or complaint (and any other do-not-contact)."""
    contact = get_object_or_404(Contact, pk=pk)
    channel_obj = get_object_or_404(Channel, slug=channel)
    channel_dnc_clear(contact=contact, channel=channel_obj, source=Source.staff(request.user))
    text = _("%(channel)s may be used again for %(name)s.") % {"channel": channel_obj.name, "name": contact}
    if not request.htmx:
        messages.success(request, text)
        return redirect("contacts:contact_detail", pk=contact.pk)
    state = selectors.contact_preference_state(contact=contact)
    form = PreferencesForm(state=state, contact=contact)
    response = render(request, "contacts/preferences.html#modal", {"contact": contact, "form": form, "state": state})
    trigger_client_event(response, PROFILE_CHANGED)
    return _notify(response, text)


# --- Categories ----------------------------------------------------------------------------------


@require_http_methods(["GET"])
@staff_page(view="contacts.view_category")
def category_list(request: HttpRequest) -> HttpResponse:
    return render(request, "contacts/category_list.html", {"audiences": selectors.category_audiences()})


@require_http_methods(["GET", "POST"])
@staff_page(view="contacts.add_category", change="contacts.add_category")
def category_create(request: HttpRequest) -> HttpResponse:
    return _object_form(request, CategoryForm(request.POST or None), kind="category")


@require_http_methods(["GET", "POST"])
@staff_page(view="contacts.change_category", change="contacts.change_category")
def category_edit(request: HttpRequest, pk: int) -> HttpResponse:
    category = get_object_or_404(Category, pk=pk)
    return _object_form(request, CategoryForm(request.POST or None, instance=category), kind="category")


@require_http_methods(["GET", "POST"])
@staff_page(view="contacts.delete_category", change="contacts.delete_category")
def category_delete(request: HttpRequest, pk: int) -> HttpResponse:
    category = get_object_or_404(selectors.category_list(), pk=pk)
    return _object_delete(request, category, kind="category")


# --- Segments ------------------------------------------------------------------------------------


@require_http_methods(["GET"])
@staff_page(view="contacts.view_segment")
def segment_list(request: HttpRequest) -> HttpResponse:
    return render(request, "contacts/segment_list.html", {"segments": selectors.segment_list()})


@require_http_methods(["GET"])
@staff_page(view="contacts.view_segment")
def segment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(selectors.segment_list(), pk=pk)
    return _segment_page(request, segment, add_form=SegmentMemberAddForm())


def _segment_page(request: HttpRequest, segment: Segment, *, add_form, status: int = 200) -> HttpResponse:
    """The members page, or with ``?members=removed`` the contacts removed from the segment."""
    removed = request.GET.get("members") == "removed"
    members = selectors.segment_removed_members(segment=segment) if removed else selectors.segment_members(segment=segment)
    page = selectors.list_page(
        queryset=members, page=page_number(request.GET.get("page")),
        per_page=MEMBERS_PER_PAGE, total=segment.removed_count if removed else segment.member_count,
    )
    context = {
        "segment": segment, "page": page, "add_form": add_form, "showing_removed": removed,
        "filter_words": selectors.segment_filter_words(segment=segment),
        "staff_history": selectors.staff_changes(subject_types=("segment",), subject_id=segment.pk),
    }
    return render(request, "contacts/segment_detail.html", context, status=status)


@require_POST
@staff_page(view="contacts.view_segment", change="contacts.change_segment")
def segment_member_add(request: HttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(selectors.segment_list(), pk=pk)
    form = SegmentMemberAddForm(request.POST)
    if not form.is_valid():
        # The error shows at the field, the typed address kept; nothing changed.
        return _segment_page(request, segment, add_form=form, status=400)
    contact = form.cleaned_data["email"]
    names = {"name": contact, "segment": segment}
    if segment_membership_add(contact=contact, segment=segment, source=Source.staff(request.user)):
        messages.success(request, _("%(name)s added to %(segment)s.") % names)
    else:
        messages.info(request, _("%(name)s is already a member of %(segment)s: nothing changed.") % names)
    return redirect("contacts:segment_detail", pk=segment.pk)


@require_http_methods(["GET", "POST"])
@staff_page(view="contacts.change_segment", change="contacts.change_segment")
def segment_member_remove(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    """Confirm, then remove: the membership stays, marked removed, so no rebuild adds the contact back."""
    segment = get_object_or_404(Segment, pk=pk)
    contact = get_object_or_404(Contact, pk=contact_pk)
    if request.method == "GET":
        return render(request, "contacts/segment_member_remove.html",
                      {"segment": segment, "contact": contact, "page": page_number(request.GET.get("page"))})
    segment_membership_remove(contact=contact, segment=segment, source=Source.staff(request.user))
    messages.success(request, _("%(name)s removed from %(segment)s.") % {"name": contact, "segment": segment})
    return redirect(reverse("contacts:segment_detail", kwargs={"pk": segment.pk}) + _page_suffix(request))


def _page_suffix(request: HttpRequest) -> str:
    page = page_number(request.POST.get("page"))
    return f"?page={page}" if page > 1 else ""


@require_http_methods(["GET", "POST"])
@staff_page(view="contacts.add_segment", change="contacts.add_segment")
def segment_create(request: HttpRequest) -> HttpResponse:
    return _object_form(request, SegmentForm(request.POST or None), kind="segment")


@require_http_methods(["GET", "POST"])
@staff_page(view="contacts.change_segment", change="contacts.change_segment")
def segment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=pk)
    return _object_form(request, SegmentForm(request.POST or None, instance=segment), kind="segment")


@require_http_methods(["GET", "POST"])
@staff_page(view="contacts.delete_segment", change="contacts.delete_segment")
def segment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(selectors.segment_list(), pk=pk)
    return _object_delete(request, segment, kind="segment")


@require_POST
@staff_page(view="contacts.view_segment", change="contacts.change_segment")
def segment_rebuild(request: HttpRequest, pk: int) -> HttpResponse:
    """Rebuild now: a worker does it; the page shows its progress, then the figures."""
    segment = get_object_or_404(Segment, pk=pk)
    if not segment.dynamic:
        messages.error(request, _("%(segment)s has no filter: there is nothing to rebuild.") % {"segment": segment})
    else:
        with transaction.atomic():
            segment_rebuild_request(segment=segment)
        messages.success(request, _("%(segment)s is being rebuilt.") % {"segment": segment})
    return redirect("contacts:segment_detail", pk=segment.pk)


@staff_page(view="contacts.view_segment")
def segment_rebuild_status(request: HttpRequest, pk: int) -> JsonResponse:
    """Where the last asked-for rebuild is: pending, or done with its figures (polled by the page)."""
    segment = get_object_or_404(selectors.segment_list(), pk=pk)
    return JsonResponse({
        "pending": segment.rebuild_pending,
        "text": render_to_string("contacts/segment_rebuild_status.html", {"segment": segment}, request=request),
        "members": segment.member_count,
    })


@require_POST
@staff_page(view="contacts.view_segment", change="contacts.change_segment")
def segment_filter_count(request: HttpRequest) -> JsonResponse:
    """The builder's live count for the filter as it stands; a bad filter is a 400 with the reasons."""
    form = FilterCountForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"errors": [str(error) for error in form.errors.get("filter", [])]}, status=400)
    count = selectors.filter_count(spec=form.cleaned_data["filter"])
    if count.count is None:
        text = _("More contacts than can be counted now.")
    elif count.more:
        text = _("More than %(count)s contacts match.") % {"count": intcomma(count.count)}
    else:
        text = ngettext("%(count)s contact matches.", "%(count)s contacts match.", count.count) % {
            "count": intcomma(count.count)
        }
    return JsonResponse({"count": count.count, "more": count.more, "text": text})


# --- Shared by categories and segments -----------------------------------------------------------

KIND_LABELS = {
    "category": (gettext_lazy("category"), gettext_lazy("Category")),
    "segment": (gettext_lazy("segment"), gettext_lazy("Segment")),
}


def _object_form(request: HttpRequest, form, *, kind: str) -> HttpResponse:
    """The form validates; ``<kind>_create`` or ``<kind>_update`` writes, and leaves the audit row."""
    creating = form.instance.pk is None
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            if creating:
                obj = getattr(services, f"{kind}_create")(acting_user=request.user, **values)
            else:
                obj = getattr(services, f"{kind}_update")(**{kind: form.instance}, acting_user=request.user, **values)
        except ValidationError as refused:  # a filter that another save just made into a cycle
            form.add_error("filter" if kind == "segment" else None, refused)
            return _object_form_page(request, form, kind=kind, creating=creating)
        text = _("%(kind)s %(name)s created.") if creating else _("%(kind)s %(name)s saved.")
        messages.success(request, text % {"kind": KIND_LABELS[kind][1], "name": obj})
        return redirect(f"contacts:{kind}_list")
    return _object_form_page(request, form, kind=kind, creating=creating)


def _object_form_page(request: HttpRequest, form, *, kind: str, creating: bool) -> HttpResponse:
    context = {"form": form, "kind": kind, "kind_label": KIND_LABELS[kind][0], "creating": creating}
    if kind == "segment":
        context["filter_catalog"] = selectors.filter_catalog_json()
    if not creating:
        context["staff_history"] = selectors.staff_changes(subject_types=(kind,), subject_id=form.instance.pk)
    return render(request, "contacts/object_form.html", context)


def _object_delete(request: HttpRequest, obj, *, kind: str) -> HttpResponse:
    """Confirm, then delete through the service, which refuses (naming the messages) what messages depend on."""
    if request.method == "POST":
        name = str(obj)
        try:
            if kind == "segment":
                services.segment_delete(
                    segment=obj, acting_user=request.user, detach_messages=request.POST.get("detach_messages") == "yes"
                )
            else:
                services.category_delete(category=obj, acting_user=request.user)
        except ObjectInUse as refused:
            messages.error(request, str(refused))
            return redirect(f"contacts:{kind}_delete", pk=obj.pk)
        except (ProtectedError, DatabaseError):
            messages.error(request, _("%(name)s could not be deleted: its history must be kept.") % {"name": name})
            return redirect(f"contacts:{kind}_list")
        messages.success(request, _("%(kind)s %(name)s deleted.") % {"kind": KIND_LABELS[kind][1], "name": name})
        return redirect(f"contacts:{kind}_list")
    context = {
        "object": obj, "kind": kind, "kind_label": KIND_LABELS[kind][0],
        "used_by": selectors.message_names_using(obj),
    }
    return render(request, "contacts/object_confirm_delete.html", context)


# --- Settings ------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@staff_page(view="contacts.view_preferencesettings", change="contacts.change_preferencesettings")
def settings_edit(request: HttpRequest) -> HttpResponse:
    """The default public-page switches and each channel's global default cap."""
    if request.method == "POST" and not request.user.has_perm("contacts.change_channel"):
        raise PermissionDenied
    data = request.POST or None
    form = PreferenceSettingsForm(data, instance=PreferenceSettings.load())
    caps = ChannelDefaultCapFormSet(data, queryset=Channel.objects.all(), prefix="caps")
    if request.method == "POST" and form.is_valid() and caps.is_valid():
        with transaction.atomic():
            settings_update(acting_user=request.user, **form.cleaned_data)
            for cap in caps.initial_forms:
                channel_default_cap_set(
                    channel=cap.instance,
                    number=cap.cleaned_data.get("default_cap_number"),
                    unit=cap.cleaned_data.get("default_cap_unit"),
                    acting_user=request.user,
                )
        messages.success(request, _("Settings saved."))
        return redirect("contacts:settings")
    history = selectors.staff_changes(subject_types=("settings", "channel"))
    return render(request, "contacts/settings.html", {"form": form, "caps": caps, "staff_history": history})


# --- The staff user's own settings ----------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def account_settings(request: HttpRequest) -> HttpResponse:
    """Any logged-in staff user sets their own time zone (no group needed: it is theirs)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), LOGIN_URL)
    form = StaffTimeZoneForm(request.POST or None, initial={"time_zone": staff_time_zone(user=request.user)})
    if request.method == "POST" and form.is_valid():
        staff_time_zone_set(user=request.user, time_zone=form.cleaned_data["time_zone"], session=request.session)
        messages.success(request, _("Your time zone is saved."))
        return redirect("contacts:account_settings")
    return render(request, "contacts/account_settings.html", {"form": form})
