"""Forms of the staff UI. They parse what was typed; the rules live in ``contacts.services``."""

from __future__ import annotations

import json
import zoneinfo
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.forms import BoundField
from django.utils.html import escape
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from contacts.models import (
    BulkAction,
    PAGE_SWITCHES,
    PAGE_TEXTS,
    CapUnit,
    Category,
    Channel,
    Contact,
    DncReason,
    PreferenceSettings,
    Segment,
    email_normalise,
    phone_normalise,
)
from contacts.query import PageNumberField, SearchField
from contacts.rules import MEMBER, category_receives, dnc_locked
from contacts.segment_filter import filter_clean
from contacts.selectors import CONTACT_SORTS, PreferenceState, contacts_with_email
from contacts.services.channels import MAX_CAP, default_cap_errors

UNIT_CHOICES = [("", "—"), *CapUnit.choices]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


# --- Contacts list ---------------------------------------------------------------------------


class ContactFilterForm(forms.Form):
    """The search box and filters above the contacts list (a GET form: every field optional)."""

    q = SearchField(
        label=_("Search"),
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Name, email or phone")}),
    )
    segment = forms.ModelChoiceField(
        label=_("Segment"), queryset=Segment.objects.order_by("name"), required=False, to_field_name="slug",
        empty_label=_("Any segment"),
    )
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.order_by("name"), required=False, to_field_name="slug",
        empty_label=_("Any category"),
    )
    category_status = forms.ChoiceField(
        label=_("Category subscription"),
        required=False,
        choices=[("", _("Receives")), ("unsubscribed", _("Unsubscribed"))],
    )
    dnc_channel = forms.ModelChoiceField(
        label=_("Channel"), queryset=Channel.objects.all(), required=False, to_field_name="slug",
        empty_label=_("Any channel"),
    )
    dnc_reason = forms.ChoiceField(
        label=_("Do not contact"),
        required=False,
        choices=[("", _("Not filtered")), ("any", _("Any reason")), ("none", _("Contactable")), *DncReason.choices],
    )
    paused = forms.BooleanField(label=_("Paused now"), required=False)
    has_cap = forms.BooleanField(label=_("Has a frequency cap"), required=False)
    sort = forms.ChoiceField(required=False, choices=[(key, key) for key in CONTACT_SORTS])
    page = PageNumberField(required=False)

    FILTERS = ("q", "segment", "category", "dnc_channel", "dnc_reason", "paused", "has_cap")

    def selector_arguments(self) -> dict:
        """The ``contact_list`` keyword arguments for the cleaned filters."""
        data = self.cleaned_data
        return {
            "search": data.get("q") or "",
            "segment": data.get("segment"),
            "category": data.get("category"),
            "category_status": (data.get("category_status") or "receives") if data.get("category") else "",
            "dnc_channel": data.get("dnc_channel"),
            "dnc_reason": data.get("dnc_reason") or ("any" if data.get("dnc_channel") else ""),
            "paused_now": bool(data.get("paused")),
            "has_cap": bool(data.get("has_cap")),
            "sort": data.get("sort") or "name",
        }

    def ignored_filters(self) -> list[str]:
        """The filters whose value was not understood and is left out, as "Label: error"."""
        labels = {name: field.label for name, field in self.fields.items()}
        labels.update(sort=_("Sort order"), page=_("Page"))
        return [f"{labels.get(name) or name}: {' '.join(errors)}" for name, errors in self.errors.items()]

    def is_filtered(self) -> bool:
        return any(self.cleaned_data.get(name) for name in self.FILTERS)


# --- Contact details -----------------------------------------------------------------------


class ContactForm(forms.ModelForm):
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=())

    class Meta:
        model = Contact
        fields = ["first_name", "last_name", "email", "phone", "locale", "time_zone"]
        help_texts = {"phone": _("International format, e.g. +33612345678.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(zone, zone) for zone in sorted(zoneinfo.available_timezones())]
        self.fields["time_zone"].initial = "UTC"

    def clean_email(self) -> str:
        email = email_normalise(self.cleaned_data["email"])
        if contacts_with_email(email).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("Another contact already has this email address."))
        return email

    def clean_phone(self) -> str:
        return phone_normalise(self.cleaned_data["phone"])


# --- Preferences modal -------------------------------------------------------------------------

TAB_CHANNELS, TAB_CATEGORIES, TAB_SEGMENTS = "channels", "categories", "segments"


# --- The one mapper between a preference form and the SPEC §6 shape --------------------------------
# The staff modal and the public page name their inputs differently; both turn them into the shape
# with ``channel_choice`` and put the service's errors back with ``error_target``.

# The rest of a ``channels.<slug>.…`` error path → the channel input it concerns.
CHANNEL_ERROR_FIELDS = {
    ("subscribed",): "subscribed",
    ("frequency",): "cap_number",
    ("frequency", "number"): "cap_number",
    ("frequency", "unit"): "cap_unit",
    ("pause",): "pause_from",
    ("pause", "from"): "pause_from",
    ("pause", "to"): "pause_to",
}


def channel_choice(
    *, subscribed: bool | None, number, unit, pause_from, pause_to, frequency: bool = True, pause: bool = True
) -> dict:
    """One channel of a form in the SPEC §6 shape. Empty inputs ("" or None) are absent;
    ``subscribed`` None, ``frequency`` or ``pause`` False leave that part out (not on the form)."""
    spec: dict = {}
    if subscribed is not None:
        spec["subscribed"] = subscribed
    if frequency:
        number = None if number in (None, "") else number
        spec["frequency"] = {"number": number, "unit": unit or None} if number is not None or unit else None
    if pause:
        spec["pause"] = {"from": pause_from or None, "to": pause_to or None} if pause_from or pause_to else None
    return spec


def error_target(path: str) -> tuple[str, str | None, str | None] | None:
    """A ``PreferencesInvalid`` path → (area, slug, channel input): ``("channels", "email", "cap_unit")``,
    ``("categories", "news", None)``, ``("preferred_channel", None, None)``; None for any other path."""
    parts = path.split(".")
    if parts == ["preferred_channel"]:
        return "preferred_channel", None, None
    if parts[0] in ("categories", "segments") and len(parts) == 2:
        return parts[0], parts[1], None
    if parts[0] == "channels" and len(parts) >= 3 and (field := CHANNEL_ERROR_FIELDS.get(tuple(parts[2:]))):
        return "channels", parts[1], field
    return None


@dataclass
class ChannelRow:
    """The fields of one channel in the Channels & frequency tab."""

    channel: Channel
    address: str
    dnc_reason: str | None
    subscribed: BoundField
    cap_number: BoundField
    cap_unit: BoundField
    pause_from: BoundField
    pause_to: BoundField
    preferred: object  # the channel's radio of the preferred_channel field

    @property
    def locked(self) -> bool:
        """Bounced or complaint: only the explicit staff action lifts it, not the tick box."""
        return dnc_locked(self.dnc_reason)

    @property
    def dnc_label(self) -> str:
        return DncReason(self.dnc_reason).label if self.dnc_reason else ""


class PreferencesForm(forms.Form):
    """The three tabs of the Preferences modal, turned into the SPEC §6 shape for ``contact_preferences_update``.

    The form only parses input (numbers, dates, choices). Every rule — N ≥ 1, number and unit
    together, from ≤ to, a preferred channel that can be reached — is the service's; its errors
    come back through ``add_service_errors`` and land next to the field they concern.
    """

    def __init__(self, *args, state: PreferenceState, contact: Contact, **kwargs):
        self.state = state
        self.contact = contact
        super().__init__(*args, initial=self._initial(state), **kwargs)
        for channel in state.channels:
            slug = channel.slug
            locked = dnc_locked(state.dnc_reasons.get(slug))
            self.fields[f"{slug}_subscribed"] = forms.BooleanField(
                label=_("Contactable"), required=False, disabled=locked,
                widget=forms.CheckboxInput(
                    attrs={"class": "form-check-input", "role": "switch", "aria-describedby": f"{slug}-dnc-note"}
                ),
            )
            self.fields[f"{slug}_cap_number"] = forms.IntegerField(
                label=_("Do not contact more than"), required=False,
                widget=forms.NumberInput(attrs={"min": 1, "inputmode": "numeric"}),
            )
            self.fields[f"{slug}_cap_unit"] = forms.ChoiceField(label=_("each"), required=False, choices=UNIT_CHOICES)
            self.fields[f"{slug}_pause_from"] = forms.DateField(label=_("Pause from"), required=False, widget=DateInput)
            self.fields[f"{slug}_pause_to"] = forms.DateField(label=_("to"), required=False, widget=DateInput)
        self.fields["preferred_channel"] = forms.ChoiceField(
            label=_("Preferred channel"),
            required=False,
            choices=[(channel.slug, channel.name) for channel in state.channels] + [("", _("No preference"))],
            widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
        )
        for category in state.categories:
            # Form renderers print help text as HTML; a description is plain text staff typed.
            self.fields[f"category_{category.slug}"] = forms.BooleanField(
                label=category.name, required=False, help_text=escape(category.description)
            )
        for segment in state.segments:
            self.fields[f"segment_{segment.slug}"] = forms.BooleanField(label=segment.name, required=False)

    @staticmethod
    def _initial(state: PreferenceState) -> dict:
        initial: dict = {"preferred_channel": state.preferred_channel or ""}
        for channel in state.channels:
            slug, pref = channel.slug, state.preferences.get(channel.slug)
            initial[f"{slug}_subscribed"] = slug not in state.dnc_reasons
            if pref is not None:
                initial[f"{slug}_cap_number"] = pref.cap_number
                initial[f"{slug}_cap_unit"] = pref.cap_unit
                initial[f"{slug}_pause_from"] = pref.pause_from
                initial[f"{slug}_pause_to"] = pref.pause_to
        for category in state.categories:
            initial[f"category_{category.slug}"] = category_receives(category, category.subscription_status)
        for segment in state.segments:
            initial[f"segment_{segment.slug}"] = segment.membership == MEMBER
        return initial

    # Layout helpers for the template.

    def channel_rows(self) -> list[ChannelRow]:
        radios = {radio.data["value"]: radio for radio in self["preferred_channel"]}
        return [
            ChannelRow(
                channel=channel,
                address=self.contact.address_for(channel),
                dnc_reason=self.state.dnc_reasons.get(channel.slug),
                subscribed=self[f"{channel.slug}_subscribed"],
                cap_number=self[f"{channel.slug}_cap_number"],
                cap_unit=self[f"{channel.slug}_cap_unit"],
                pause_from=self[f"{channel.slug}_pause_from"],
                pause_to=self[f"{channel.slug}_pause_to"],
                preferred=radios[channel.slug],
            )
            for channel in self.state.channels
        ]

    def preferred_error_slug(self) -> str | None:
        """The channel whose "Preferred channel" radio the error concerns: the error shows beside it."""
        value = self["preferred_channel"].value()
        slugs = {channel.slug for channel in self.state.channels}
        return value if self.errors.get("preferred_channel") and value in slugs else None

    def no_preference_radio(self):
        return next(radio for radio in self["preferred_channel"] if radio.data["value"] == "")

    def category_rows(self) -> list[tuple[Category, BoundField]]:
        return [(category, self[f"category_{category.slug}"]) for category in self.state.categories]

    def segment_rows(self) -> list[tuple[Segment, BoundField]]:
        return [(segment, self[f"segment_{segment.slug}"]) for segment in self.state.segments]

    def tab_of(self, field_name: str) -> str:
        if field_name.startswith("category_"):
            return TAB_CATEGORIES
        if field_name.startswith("segment_"):
            return TAB_SEGMENTS
        return TAB_CHANNELS

    def error_tabs(self) -> list[str]:
        """Tabs holding an error, in tab order: the first one opens, the others get a marker."""
        tabs = {self.tab_of(name) for name in self.errors if name != forms.forms.NON_FIELD_ERRORS}
        return [tab for tab in (TAB_CHANNELS, TAB_CATEGORIES, TAB_SEGMENTS) if tab in tabs]

    def active_tab(self) -> str:
        tabs = self.error_tabs()
        return tabs[0] if tabs else TAB_CHANNELS

    # From the form to the service and back.

    def preferences_data(self) -> dict:
        """The cleaned input in the SPEC §6 shape; unchanged values are the service's to skip."""
        data = self.cleaned_data
        channels = {}
        for channel in self.state.channels:
            slug = channel.slug
            channels[slug] = channel_choice(
                subscribed=None if self.fields[f"{slug}_subscribed"].disabled else bool(data.get(f"{slug}_subscribed")),
                number=data.get(f"{slug}_cap_number"),
                unit=data.get(f"{slug}_cap_unit"),
                pause_from=data.get(f"{slug}_pause_from"),
                pause_to=data.get(f"{slug}_pause_to"),
            )
        return {
            "channels": channels,
            "preferred_channel": data.get("preferred_channel") or None,
            "categories": {c.slug: bool(data.get(f"category_{c.slug}")) for c in self.state.categories},
            "segments": {s.slug: bool(data.get(f"segment_{s.slug}")) for s in self.state.segments},
        }

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        """Show each ``PreferencesInvalid`` message next to the field its dotted path names."""
        for path, messages in errors.items():
            field = self.field_for_path(path)
            for message in messages:
                self.add_error(field if field in self.fields else None, message)

    @staticmethod
    def field_for_path(path: str) -> str | None:
        target = error_target(path)
        if target is None:
            return None
        area, slug, field = target
        if area == "channels":
            return f"{slug}_{field}"
        return {"categories": f"category_{slug}", "segments": f"segment_{slug}"}.get(area, area)


# --- Categories, segments, settings ------------------------------------------------------------


class SlugFromNameMixin:
    """An empty slug is made from the name."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        self.fields["slug"].help_text = _("Used in links. Left empty, it is made from the name.")

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("slug") and cleaned.get("name"):
            cleaned["slug"] = slugify(cleaned["name"])[:50]
            if not cleaned["slug"]:
                self.add_error("slug", _("Enter a slug made of letters, numbers, hyphens or underscores."))
        return cleaned


class CategoryForm(SlugFromNameMixin, forms.ModelForm):
    class Meta:
        model = Category
        fields = ["name", "name_fr", "slug", "description", "description_fr", "public", "opt_in"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3}), "description_fr": forms.Textarea(attrs={"rows": 3})}
        labels = {"public": _("Shown on the public preference page"), "opt_in": _("Opt-in only")}


class FilterField(forms.Field):
    """A dynamic segment's filter as JSON text (the builder writes it); empty: a static segment."""

    widget = forms.HiddenInput
    MAX_LENGTH = 50_000

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, dict):
            return json.dumps(value)
        return value

    def to_python(self, value):
        text = str(value or "").strip()
        if not text:
            return None
        if len(text) > self.MAX_LENGTH:
            raise forms.ValidationError(_("The filter is too long."))
        try:
            return json.loads(text)
        except (ValueError, RecursionError):  # not JSON, or brackets nested beyond the parser
            raise forms.ValidationError(_("The filter is not valid JSON.")) from None


def segment_filter_parse(value, *, segment_id: int | None = None) -> dict | None:
    """The filter in its stored form, or ``ValidationError`` with one message per problem."""
    return None if value is None else filter_clean(value, segment_id=segment_id)


class SegmentForm(SlugFromNameMixin, forms.ModelForm):
    filter = FilterField(label=_("Filter"))

    class Meta:
        model = Segment
        fields = [
            "name", "name_fr", "slug", "public_name", "public_name_fr", "description", "description_fr", "public", "filter",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3}), "description_fr": forms.Textarea(attrs={"rows": 3})}
        labels = {"public": _("Shown on the public preference page")}

    def clean_filter(self):
        return segment_filter_parse(self.cleaned_data.get("filter"), segment_id=self.instance.pk)


class FilterCountForm(forms.Form):
    """The builder's live count: the filter as it stands."""

    filter = FilterField()

    def clean_filter(self):
        value = self.cleaned_data.get("filter")
        if value is None:
            raise forms.ValidationError(_("Add a condition."))
        return segment_filter_parse(value)


class SegmentMemberAddForm(forms.Form):
    email = forms.EmailField(label=_("Add a contact by email address"))

    def clean_email(self) -> Contact:
        contact = contacts_with_email(self.cleaned_data["email"]).first()
        if contact is None:
            raise forms.ValidationError(_("No contact has this email address."))
        return contact


class PreferenceSettingsForm(forms.ModelForm):
    class Meta:
        model = PreferenceSettings
        fields = [*PAGE_SWITCHES, *PAGE_TEXTS]
        labels = {
            "show_preferences": _("Show the preference page (off: a plain unsubscribe page)"),
            "show_frequency": _("Show the frequency cap"),
            "show_pause": _("Show the pause dates"),
            "show_preferred_channel": _("Show the preferred channel"),
            "show_categories": _("Show the categories"),
            "show_segments": _("Show the segments"),
        }
        help_texts = {
            "show_preferences": "",
            "unsubscribe_text": _("Empty: the built-in wording, translated into the contact's language."),
            "resubscribe_text": _("Empty: the built-in wording, translated into the contact's language."),
        }
        widgets = {
            "unsubscribe_text": forms.Textarea(attrs={"rows": 2}),
            "resubscribe_text": forms.Textarea(attrs={"rows": 2}),
        }


class ChannelDefaultCapForm(forms.ModelForm):
    """A channel's global default cap: 0 or nothing for no cap, else the contacts' cap rule (``frequency_errors``)."""

    default_cap_unit = forms.ChoiceField(label=_("each"), choices=UNIT_CHOICES, required=False)

    class Meta:
        model = Channel
        fields = ["default_cap_number", "default_cap_unit"]
        labels = {"default_cap_number": _("At most")}
        widgets = {"default_cap_number": forms.NumberInput(attrs={"min": 0, "max": MAX_CAP})}

    def clean(self):
        cleaned = super().clean()
        if "default_cap_number" in self.errors:
            return cleaned
        number, unit = cleaned.get("default_cap_number"), cleaned.get("default_cap_unit")
        for path, messages in default_cap_errors(number, unit).items():
            for message in messages:
                self.add_error("default_cap_unit" if path.endswith(".unit") else "default_cap_number", message)
        return cleaned


class ChannelDefaultCapBaseFormSet(forms.BaseModelFormSet):
    """One form per existing channel, never more: a POST that raises TOTAL_FORMS is refused, not a new channel."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_num = self.absolute_max = len(self.get_queryset())

    def initial_form_count(self) -> int:
        # Every form edits a channel, whatever INITIAL_FORMS says: -1 made form 0 a new, unsaved channel (a 500).
        return len(self.get_queryset())


ChannelDefaultCapFormSet = forms.modelformset_factory(
    Channel, form=ChannelDefaultCapForm, formset=ChannelDefaultCapBaseFormSet, extra=0, can_delete=False,
    edit_only=True, validate_max=True,
)


# --- CSV import ----------------------------------------------------------------------------------


class ImportUploadForm(forms.Form):
    file = forms.FileField(label=_("CSV file"))

    def __init__(self, *args, **kwargs):
        from contacts.imports.csvfile import size_limit_text

        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            "UTF-8 (with or without BOM) or Windows-1252, comma or semicolon separated, the first line naming "
            "the columns; at most %(limit)s."
        ) % {"limit": size_limit_text()}
        self.fields["file"].widget.attrs["accept"] = ".csv,text/csv"


class ImportMappingForm(forms.Form):
    """One target per column of the file, how contacts are matched, and what happens to existing ones."""

    match_on = forms.ChoiceField(label=_("Match existing contacts by"), choices=())
    policy = forms.ChoiceField(label=_("Existing contacts"), choices=())

    def __init__(self, *args, header: list[str], initial: dict | None = None, **kwargs):
        from contacts.imports.mapping import target_choices
        from contacts.models import ContactImport

        initial = dict(initial or {})
        mapping = initial.pop("mapping", [])
        for index, target in enumerate(mapping):
            initial[f"column_{index}"] = target
        super().__init__(*args, initial=initial, **kwargs)
        self.header = header
        self.fields["match_on"].choices = ContactImport.Match.choices
        self.fields["policy"].choices = ContactImport.Policy.choices
        choices = target_choices()
        for index, name in enumerate(header):
            self.fields[f"column_{index}"] = forms.ChoiceField(label=name or _("(no name)"), choices=choices)

    def mapping_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "mapping": [data[f"column_{index}"] for index in range(len(self.header))],
            "match_on": data["match_on"],
            "policy": data["policy"],
        }
class BulkActionForm(forms.Form):
    """What to do to every contact of the filtered list, and to which segment or channel."""

    kind = forms.ChoiceField(label=_("Action"), choices=BulkAction.Kind.choices)
    segment = forms.ModelChoiceField(
        label=_("Segment"), queryset=Segment.objects.order_by("name"), required=False,
        help_text=_("For adding to or removing from a segment."),
    )
    channel = forms.ModelChoiceField(
        label=_("Channel"), queryset=Channel.objects.all(), required=False,
        help_text=_("For do-not-contact. Clearing lifts only what staff set: a contact's own unsubscribe, "
                    "a bounce or a complaint stays."),
    )

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind in (BulkAction.Kind.SEGMENT_ADD, BulkAction.Kind.SEGMENT_REMOVE):
            if not data.get("segment"):
                self.add_error("segment", _("Choose the segment."))
            data["channel"] = None
        elif kind:
            if not data.get("channel"):
                self.add_error("channel", _("Choose the channel."))
            data["segment"] = None
        return data


class StaffTimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        label=_("Your time zone"), required=False,
        help_text=_("Every date and time of the staff pages is shown in it, with the zone's name."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [("", _("The server's zone (%(zone)s)") % {"zone": settings.TIME_ZONE})] + [
            (zone, zone) for zone in sorted(zoneinfo.available_timezones())
        ]
