from django import forms
from django.forms import inlineformset_factory
from django.utils.translation import gettext_lazy as _

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


class VersionForm(forms.ModelForm):
    class Meta:
        model = MessageVersion
        fields = ["channel", "position", "subject", "text_body", "html_body"]
        widgets = {"text_body": forms.Textarea(attrs={"rows": 4}), "html_body": forms.Textarea(attrs={"rows": 4})}
        help_texts = {
            "text_body": _("Tokens: {first_name} {unsubscribe_url} {preferences_url} {unsubscribe_text}"),
        }


VersionFormSet = inlineformset_factory(Message, MessageVersion, form=VersionForm, extra=1, can_delete=True, min_num=1,
                                       validate_min=True)


class PreviewForm(forms.Form):
    contact = forms.CharField(label=_("Contact (id or email)"))
