from django import forms
from django.forms import inlineformset_factory
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .delivery.rendering import unsubscribe_link_check

from .models import SWITCHES, Message, MessageVersion

INHERIT = [("", _("Global setting")), ("true", _("Show")), ("false", _("Hide"))]


class MessageForm(forms.ModelForm):
    class Meta:
        model = Message
        fields = ["name", "category", "segments", "transactional", "deliver_until", "from_email", *SWITCHES,
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
        for name in SWITCHES:
            self.fields[name] = forms.NullBooleanField(
                required=False, label=self.fields[name].label, widget=forms.Select(choices=INHERIT),
                help_text=_("Overrides the global setting for this message's links."),
            )

    def message_values(self) -> dict:
        """The validated values, as ``message_create`` and ``message_update`` take them."""
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class VersionForm(forms.ModelForm):
    class Meta:
        model = MessageVersion
        fields = ["channel", "position", "subject", "text_body", "html_body"]
        # The order is the versions' order on the page (Move up / Move down); position follows it.
        widgets = {
            "position": forms.HiddenInput(attrs={"data-version-position": ""}),
            "text_body": forms.Textarea(attrs={"rows": 4}),
            "html_body": forms.Textarea(attrs={"rows": 6, "data-html-preview": ""}),
        }
        help_texts = {
            "text_body": _("Tokens: {first_name} {unsubscribe_url} {preferences_url} {unsubscribe_text}"),
        }

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
