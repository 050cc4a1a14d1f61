from django import forms
from django.forms import inlineformset_factory
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .delivery.rendering import unsubscribe_link_check

from contacts.models import Category, ContactField, Segment

from .delivery.rendering import field_token_errors
from .models import SWITCHES, LeavingReasonChoice, Message, MessageVersion, PreferencePage
from .pages import BLOCK_KINDS, CATEGORIES, MAX_BLOCKS, SEGMENTS, WITH_TEXT


def _field_tokens_check(form: forms.Form, names: tuple[str, ...]) -> None:
    """Each text input whose field tokens name no defined field (or are malformed) gets a message."""
    known = None
    for name in names:
        text = form.cleaned_data.get(name) or ""
        if "{field:" not in text:
            continue
        if known is None:
            known = set(ContactField.objects.values_list("key", flat=True))
        for message in field_token_errors(text, known):
            form.add_error(name, message)

INHERIT = [("", _("Global setting")), ("true", _("Show")), ("false", _("Hide"))]


class MessageForm(forms.ModelForm):
    class Meta:
        model = Message
        fields = ["name", "category", "segments", "transactional", "deliver_until", "from_email", "preference_page", *SWITCHES,
                  "unsubscribe_text", "resubscribe_text"]
        widgets = {
            "deliver_until": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "segments": forms.CheckboxSelectMultiple,
            **{name: forms.Select(choices=INHERIT) for name in SWITCHES},
            "unsubscribe_text": forms.Textarea(attrs={"rows": 2}),
            "resubscribe_text": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only a published page passed its checks; a draft never reaches a contact.
        self.fields["preference_page"].queryset = PreferencePage.objects.filter(published_at__isnull=False)
        for name in SWITCHES:
            self.fields[name] = forms.NullBooleanField(
                required=False, label=self.fields[name].label, widget=forms.Select(choices=INHERIT),
                help_text=_("Overrides the global setting for this message's links."),
            )

    def clean(self):
        cleaned = super().clean()
        _field_tokens_check(self, ("unsubscribe_text",))
        return cleaned

    def message_values(self) -> dict:
        """The validated values, as ``message_create`` and ``message_update`` take them."""
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class VersionForm(forms.ModelForm):
    class Meta:
        model = MessageVersion
        fields = ["channel", "position", "subject", "text_body", "html_body", "subject_fr", "text_body_fr", "html_body_fr"]
        # The order is the versions' order on the page (Move up / Move down); position follows it.
        widgets = {
            "position": forms.HiddenInput(attrs={"data-version-position": ""}),
            "text_body": forms.Textarea(attrs={"rows": 4}),
            "html_body": forms.Textarea(attrs={"rows": 6, "data-html-preview": ""}),
            "text_body_fr": forms.Textarea(attrs={"rows": 4}),
            "html_body_fr": forms.Textarea(attrs={"rows": 6}),
        }
        help_texts = {
            "text_body": _("Tokens: {first_name} {unsubscribe_url} {preferences_url} {unsubscribe_text}, "
                           "and custom fields as {field:key} or {field:key|fallback}"),
        }

    def clean(self):
        cleaned = super().clean()
        _field_tokens_check(self, ("subject", "text_body", "html_body", "subject_fr", "text_body_fr", "html_body_fr"))
        return cleaned

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["position"].required = False

    def has_changed(self) -> bool:
        # Reordering renumbers every card, the empty one too: a position alone does not make a version.
        return any(name != "position" for name in self.changed_data)


def unsubscribe_link_warnings(version: dict, *, marketing: bool) -> list[str]:
    """What a marketer should hear about a version's unsubscribe link before saving: shown twice,
    not at all, or a link inside a link. The counting is the renderer's rule."""
    warnings = []
    channel = version["channel"].name if version.get("channel") else ""
    parts = [(_("text part"), version.get("text_body") or "", False)]
    if version.get("html_body"):
        parts.append((_("HTML part"), version["html_body"], True))
    for label, body, html_part in parts:
        check = unsubscribe_link_check(body, html_part=html_part, marketing=marketing)
        where = {"channel": channel, "part": label, "count": check.links}
        if check.links > 1:
            warnings.append(ngettext(
                "%(channel)s, %(part)s: the unsubscribe link would appear %(count)d time.",
                "%(channel)s, %(part)s: the unsubscribe link would appear %(count)d times. "
                "{unsubscribe_text} already holds the link: use it or {unsubscribe_url}, once.",
                check.links,
            ) % where)
        elif check.links == 0 and marketing:
            warnings.append(_("%(channel)s, %(part)s: the unsubscribe link would not appear.") % where)
        if check.nested:
            warnings.append(_(
                "%(channel)s, %(part)s: {unsubscribe_text} is inside a link, and it renders its own link "
                "(a link inside a link). Put it outside the <a> element."
            ) % where)
    return warnings


class BaseVersionFormSet(forms.BaseInlineFormSet):
    default_error_messages = {
        **forms.BaseInlineFormSet.default_error_messages,
        "too_few_forms": _("Add at least one version: choose its channel and write its text."),
    }

    def unsubscribe_link_warnings(self, *, marketing: bool) -> list[str]:
        return [
            warning
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
            for warning in unsubscribe_link_warnings(form.cleaned_data, marketing=marketing)
        ]

    def versions_values(self) -> list[dict]:
        """The versions to keep after a valid POST (filled, not ticked for deletion), one per channel,
        in the order the page sent (their hidden positions, then the forms' order), numbered 0, 1, 2…"""
        kept = [
            (form.cleaned_data.get("position"), index, form)
            for index, form in enumerate(self.forms)
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        kept.sort(key=lambda item: (item[0] if item[0] is not None else item[1], item[1]))
        return [
            {**{name: form.cleaned_data[name] for name in VersionForm.Meta.fields}, "position": position}
            for position, (_submitted, _index, form) in enumerate(kept)
        ]


VersionFormSet = inlineformset_factory(Message, MessageVersion, form=VersionForm, formset=BaseVersionFormSet, extra=1,
                                       can_delete=True, min_num=1, validate_min=True)


class PreviewForm(forms.Form):
    contact = forms.CharField(label=_("Contact (id or email)"))


def time_zone_choices() -> list[tuple[str, str]]:
    import zoneinfo

    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class ScheduleForm(forms.Form):
    """A wall-clock date and time in a chosen time zone; the service turns it into an instant."""

    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    time = forms.TimeField(label=_("Time"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=time_zone_choices)

    def local(self):
        import datetime

        return datetime.datetime.combine(self.cleaned_data["date"], self.cleaned_data["time"])


class TestSendForm(forms.Form):
    recipients = forms.CharField(
        label=_("Send a test to"), widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Email addresses and phone numbers (+33612345678), separated by commas or new lines. "
                    "Each gets the version of its channel, marked as a test."),
    )


class PreferencePageForm(forms.ModelForm):
    class Meta:
        model = PreferencePage
        fields = ["name", "default_language"]


class BlockForm(forms.Form):
    """One block of a page version; the formset's order field places it."""

    kind = forms.ChoiceField(label=_("Block"), choices=[("", "—"), *BLOCK_KINDS.items()], required=False)
    text = forms.CharField(
        label=_("Text"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Heading and confirmation: plain text. Text: plain text or simple HTML (paragraphs, bold, "
                    "italic, lists, links); anything else is removed."),
    )
    categories = forms.ModelMultipleChoiceField(
        label=_("Categories shown"), required=False, queryset=Category.objects.filter(public=True),
        widget=forms.CheckboxSelectMultiple, help_text=_("None ticked: every public category, new ones included."),
    )
    segments = forms.ModelMultipleChoiceField(
        label=_("Segments shown"), required=False, queryset=Segment.objects.filter(public=True),
        widget=forms.CheckboxSelectMultiple,
    )

    def block(self) -> dict:
        kind = self.cleaned_data["kind"]
        block = {"kind": kind}
        if kind in WITH_TEXT:
            block["text"] = self.cleaned_data["text"]
        if kind in (CATEGORIES, SEGMENTS):
            block["items"] = [item.pk for item in self.cleaned_data[kind]]
        return block


class BaseBlockFormSet(forms.BaseFormSet):
    def blocks(self) -> list[dict]:
        """The filled blocks, in the order staff gave (unticked for deletion)."""
        return [form.block() for form in self.ordered_forms if form.cleaned_data.get("kind")]


BlockFormSet = forms.formset_factory(BlockForm, formset=BaseBlockFormSet, extra=5, can_order=True, can_delete=True,
                                     max_num=MAX_BLOCKS, validate_max=True)


def block_initial(blocks: list[dict]) -> list[dict]:
    return [
        {"kind": block["kind"], "text": block.get("text", ""), "ORDER": position,
         **({block["kind"]: block.get("items", [])} if block["kind"] in (CATEGORIES, SEGMENTS) else {})}
        for position, block in enumerate(blocks, start=1)
    ]


class PageBrandForm(forms.Form):
    logo = forms.FileField(
        label=_("Logo"), required=False,
        help_text=_("PNG, JPEG, GIF or WebP, at most 2 MB. It is re-encoded as PNG, without its metadata, "
                    "at most 480 × 160 pixels."),
    )
    remove_logo = forms.BooleanField(label=_("Remove the logo"), required=False)
    brand_background = forms.CharField(label=_("Header colour"), required=False, max_length=7,
                                       widget=forms.TextInput(attrs={"placeholder": "#1f2d3d"}),
                                       help_text=_("#rrggbb; empty for the default."))
    brand_text = forms.CharField(label=_("Header text colour"), required=False, max_length=7,
                                 widget=forms.TextInput(attrs={"placeholder": "#ffffff"}),
                                 help_text=_("Must keep a contrast of at least 4.5:1 with the header colour (WCAG AA)."))
    footer_text = forms.CharField(label=_("Footer"), required=False, max_length=1000,
                                  widget=forms.Textarea(attrs={"rows": 3}),
                                  help_text=_("Plain text, such as the sender's postal address."))


class LeavingReasonForm(forms.ModelForm):
    """One reason for leaving on the staff list: its words per language, its place, whether offered."""

    class Meta:
        model = LeavingReasonChoice
        fields = ["label", "label_fr", "position", "active"]
        widgets = {
            "label": forms.TextInput(attrs={"class": "form-control form-control-sm"}),
            "label_fr": forms.TextInput(attrs={"class": "form-control form-control-sm"}),
            "position": forms.NumberInput(attrs={"class": "form-control form-control-sm", "min": 0, "max": 32767}),
            "active": forms.CheckboxInput(attrs={"class": "form-check-input"}),
        }

    def clean_label(self) -> str:
        return self.cleaned_data["label"].strip()

    def clean_label_fr(self) -> str:
        return self.cleaned_data["label_fr"].strip()


class NewLeavingReasonForm(LeavingReasonForm):
    """The empty row under the list: left blank, it adds nothing."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["label"].required = False
        self.fields["position"].required = False

    def is_blank(self) -> bool:
        return not (self.cleaned_data.get("label") or self.cleaned_data.get("label_fr"))

    def clean(self):
        data = super().clean()
        if data.get("label_fr") and not data.get("label"):
            self.add_error("label", _("Enter the label in the default language too."))
        return data
