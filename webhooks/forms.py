"""Forms of the webhook pages: they parse what staff typed; the rules live in the services and
``webhooks.delivery.target_errors`` (the same check runs again before every delivery)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from webhooks.delivery import target_errors
from webhooks.models import DeliveryStatus, EventType, WebhookEndpoint


class EndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("Events"), choices=EventType.choices, widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one event.")},
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "events", "enabled"]
        help_texts = {
            "url": _("https:// only. The receiver verifies each request with the secret shown after saving."),
            "enabled": _("A disabled endpoint receives nothing; enabling it again delivers what is pending."),
        }

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        for message in target_errors(url):
            self.add_error("url", message)
        return url


class DeliveryFilterForm(forms.Form):
    """The delivery log's filters: a status, and a page starting before an event id."""

    status = forms.ChoiceField(choices=[("", _("All"))] + DeliveryStatus.choices, required=False)
    before = forms.IntegerField(min_value=1, max_value=2**63 - 1, required=False)
