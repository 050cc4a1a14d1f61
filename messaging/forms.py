from django import forms
from django.forms import inlineformset_factory
from django.utils.translation import gettext_lazy as _

from contacts.models import ContactField

from .delivery.rendering import field_token_errors
from .models import SWITCHES, Message, MessageVersion


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
        widgets = {name: forms.Textarea(attrs={"rows": 4})
                   for name in ("text_body", "html_body", "text_body_fr", "html_body_fr")}
        help_texts = {
            "text_body": _("Tokens: {first_name} {unsubscribe_url} {preferences_url} {unsubscribe_text}, "
                           "and custom fields as {field:key} or {field:key|fallback}"),
        }

    def clean(self):
        cleaned = super().clean()
        _field_tokens_check(self, ("subject", "text_body", "html_body", "subject_fr", "text_body_fr", "html_body_fr"))
        return cleaned


class BaseVersionFormSet(forms.BaseInlineFormSet):
    def versions_values(self) -> list[dict]:
        """The versions to keep after a valid POST (filled, not ticked for deletion), one per channel."""
        return [
            {name: form.cleaned_data[name] for name in VersionForm.Meta.fields}
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]


VersionFormSet = inlineformset_factory(Message, MessageVersion, form=VersionForm, formset=BaseVersionFormSet, extra=1,
                                       can_delete=True, min_num=1, validate_min=True)


class PreviewForm(forms.Form):
    contact = forms.CharField(label=_("Contact (id or email)"))
