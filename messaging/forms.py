from django import forms
from django.forms import inlineformset_factory
from django.utils.translation import gettext_lazy as _

from .models import SWITCHES, Message, MessageVersion, PreferencePage

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

    def message_values(self) -> dict:
        """The validated values, as ``message_create`` and ``message_update`` take them."""
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class VersionForm(forms.ModelForm):
    class Meta:
        model = MessageVersion
        fields = ["channel", "position", "subject", "text_body", "html_body"]
        widgets = {"text_body": forms.Textarea(attrs={"rows": 4}), "html_body": forms.Textarea(attrs={"rows": 4})}
        help_texts = {
            "text_body": _("Tokens: {first_name} {unsubscribe_url} {preferences_url} {unsubscribe_text}"),
        }


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
