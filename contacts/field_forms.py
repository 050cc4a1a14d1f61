"""Forms for custom fields: the staff form that defines one, and the inputs of a contact's values.

They parse what was typed; ``contacts.services.fields.field_values_clean`` decides what is valid.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from contacts.models import BUILT_IN_FIELD_NAMES, ContactField
from contacts.services.fields import field_value_text, field_values_clean

FieldType = ContactField.Type
CHOICE_MAX_LENGTH = 100
CHOICES_MAX = 200


class ContactFieldForm(forms.ModelForm):
    """Define a custom field. The key is set once: tokens and import mappings refer to it."""

    choices = forms.CharField(
        label=_("Choices"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For “one of a list”: one value per line."),
    )

    class Meta:
        model = ContactField
        fields = ["label", "label_fr", "key", "type", "choices", "help_text", "public", "position"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["key"].disabled = True
            self.fields["key"].help_text = _("The key cannot change: tokens and imports refer to it.")
            self.initial["choices"] = "\n".join(self.instance.choices or [])

    def clean_key(self) -> str:
        key = self.cleaned_data["key"]
        if key in BUILT_IN_FIELD_NAMES:
            raise ValidationError(_("“%(key)s” is a built-in contact field; choose another key.") % {"key": key})
        return key

    def clean_choices(self) -> list[str]:
        lines = [line.strip() for line in (self.cleaned_data.get("choices") or "").splitlines()]
        choices = list(dict.fromkeys(line for line in lines if line))
        if len(choices) > CHOICES_MAX:
            raise ValidationError(_("At most %(n)d choices.") % {"n": CHOICES_MAX})
        if any(len(choice) > CHOICE_MAX_LENGTH for choice in choices):
            raise ValidationError(_("Each choice has at most %(n)d characters.") % {"n": CHOICE_MAX_LENGTH})
        return choices

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("type") == FieldType.CHOICE and not cleaned.get("choices"):
            self.add_error("choices", _("List at least one choice."))
        elif cleaned.get("type") != FieldType.CHOICE and cleaned.get("choices"):
            self.add_error("choices", _("Only a “one of a list” field has choices."))
        return cleaned

    def definition_values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields if name in self.cleaned_data}


BOOLEAN_INPUT_CHOICES = [("", "—"), ("yes", _("Yes")), ("no", _("No"))]


def field_input(field: ContactField) -> forms.Field:
    """The form input for one custom field; its text is validated by ``field_values_clean``."""
    common = {"label": field.label, "required": False, "help_text": field.help_text}
    if field.type == FieldType.DATE:
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if field.type == FieldType.BOOLEAN:
        return forms.ChoiceField(choices=BOOLEAN_INPUT_CHOICES, **common)
    if field.type == FieldType.CHOICE:
        # Kept as free text underneath so a stale choice gets the service's message, not a generic one.
        return forms.CharField(widget=forms.Select(choices=[("", "—"), *((c, c) for c in field.choices)]), **common)
    if field.type == FieldType.NUMBER:
        return forms.CharField(widget=forms.TextInput(attrs={"inputmode": "decimal"}), **common)
    return forms.CharField(max_length=None, strip=False, **common)


class ContactFieldValuesForm(forms.Form):
    """A contact's custom field values, all validated together by ``field_values_clean``."""

    prefix = "field"

    def __init__(self, *args, definitions: list[ContactField], contact=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.definitions = {field.key: field for field in definitions}
        stored = (contact.fields or {}) if contact is not None else {}
        for key, field in self.definitions.items():
            self.fields[key] = field_input(field)
            self.initial[key] = field_value_text(stored.get(key))

    def clean(self):
        cleaned = super().clean()
        try:
            self.values = field_values_clean(
                {key: cleaned.get(key, "") for key in self.definitions}, definitions=self.definitions
            )
        except ValidationError as error:
            for key, messages in error.message_dict.items():
                for message in messages:
                    self.add_error(key if key in self.fields else None, message)
        return cleaned


OPERATOR_LABELS = {
    "eq": _("is"), "contains": _("contains"), "range": _("between"), "set": _("has a value"),
    "unset": _("has no value"),
}


class ContactFieldFilterForm(forms.Form):
    """The custom field filter and the field columns of the contacts list (GET; every input optional).

    An invalid filter gets a message at its input and is not applied; the list still shows.
    """

    ff = forms.ChoiceField(label=_("Field"), required=False)
    fo = forms.ChoiceField(label=_("Condition"), required=False, choices=[("", "—"), *OPERATOR_LABELS.items()])
    fv = forms.CharField(label=_("Value"), required=False, max_length=1000)
    fv2 = forms.CharField(label=_("and"), required=False, max_length=1000,
                          help_text=_("Upper bound for “between”; either bound may stay empty."))
    col = forms.MultipleChoiceField(label=_("Field columns"), required=False)

    def __init__(self, *args, definitions: list[ContactField], **kwargs):
        super().__init__(*args, **kwargs)
        self.definitions = {field.key: field for field in definitions}
        keys = [(field.key, field.label) for field in definitions]
        self.fields["ff"].choices = [("", "—"), *keys]
        self.fields["col"].choices = keys
        self.filter: dict | None = None

    def clean(self):
        from contacts.selectors.fields import FIELD_OPERATORS
        from contacts.services.fields import field_value_clean

        cleaned = super().clean()
        field = self.definitions.get(cleaned.get("ff") or "")
        operator = cleaned.get("fo") or ("eq" if field else "")
        if field is None or self.errors:
            return cleaned
        if operator not in FIELD_OPERATORS[field.type]:
            self.add_error("fo", _("“%(op)s” does not apply to %(label)s; choose one of: %(ops)s.") % {
                "op": OPERATOR_LABELS.get(operator, operator), "label": field.label,
                "ops": ", ".join(str(OPERATOR_LABELS[o]) for o in FIELD_OPERATORS[field.type])})
            return cleaned
        values = {}
        for name in ("fv", "fv2"):
            text = cleaned.get(name) or ""
            if operator in ("set", "unset") or (name == "fv2" and operator != "range"):
                values[name] = None
                continue
            if operator == "contains":
                values[name] = text.strip() or None
                continue
            try:
                values[name] = field_value_clean(field, text)
            except ValidationError as error:
                self.add_error(name, error.messages)
        if self.errors:
            return cleaned
        if operator in ("eq", "contains") and values["fv"] is None:
            self.add_error("fv", _("Enter the value to look for."))
        elif operator == "range" and values["fv"] is None and values["fv2"] is None:
            self.add_error("fv", _("Enter at least one bound."))
        else:
            self.filter = {"field": field, "operator": operator, "value": values["fv"], "value_to": values["fv2"]}
        return cleaned

    def apply(self, contacts):
        """``contacts`` narrowed by the field filter when it is valid."""
        from contacts.selectors.fields import contacts_field_filter

        if self.is_valid() and self.filter:
            return contacts_field_filter(contacts, **self.filter)
        return contacts

    def columns(self) -> list[ContactField]:
        self.is_valid()  # the columns stand even when the filter is invalid
        keys = self.cleaned_data.get("col") or []
        return [self.definitions[key] for key in keys if key in self.definitions]

    def is_filtered(self) -> bool:
        return bool(self.is_valid() and self.filter)
