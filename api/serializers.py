"""Shapes of the API's bodies. Input serializers check types and refuse unknown fields; every rule
about what may change lives in the services they feed."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from contacts.models import (
    CapUnit,
    Category,
    ChangeKind,
    Contact,
    DncReason,
    PreferenceChange,
    Segment,
    email_normalise,
    phone_normalise,
)
from contacts.segment_filter import FilterCatalog
from contacts.selectors import contacts_with_email, segment_filter_words
from contacts.services import field_values_clean
from messaging.models import Dispatch, DispatchStatus, Message, Outcome, Send


class UnknownFieldsRefused:
    """Refuses fields it does not write: a typo, or a read-only field sent back, is an error (400,
    per field), not a silently ignored change. The OpenAPI document says so of its request bodies
    (``additionalProperties: false``, ``api.schema``)."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            if unknown := sorted(set(data) - writable):
                read_only = set(self.fields) - writable
                raise serializers.ValidationError({
                    name[:100]: ["Read-only field." if name in read_only else "Unknown field."] for name in unknown[:20]
                })
        return super().to_internal_value(data)


class StrictSerializer(UnknownFieldsRefused, serializers.Serializer):
    """An input body with only the fields it names."""


class ContactSerializer(UnknownFieldsRefused, serializers.ModelSerializer):
    fields = serializers.DictField(
        required=False, child=serializers.JSONField(allow_null=True),
        help_text="Custom field values by key. On write only the keys sent change; null removes a value.",
    )

    class Meta:
        model = Contact
        fields = ["id", "first_name", "last_name", "email", "phone", "locale", "time_zone", "fields", "created_at",
                  "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_email(self, value: str) -> str:
        email = email_normalise(value)
        others = contacts_with_email(email)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if email and others.exists():
            raise serializers.ValidationError("Another contact already has this email address.")
        return email

    def validate_phone(self, value: str) -> str:
        return phone_normalise(value)

    def validate_fields(self, value: dict) -> dict:
        try:
            return field_values_clean(value)  # the one rule for custom field values
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict)


class ContactLookupSerializer(StrictSerializer):
    email = serializers.CharField(required=False, max_length=254)
    phone = serializers.CharField(required=False, max_length=32)

    def validate(self, attrs):
        if len(attrs) != 1:
            raise serializers.ValidationError("Send exactly one of email or phone.")
        return attrs


class ContactListSerializer(serializers.Serializer):
    results = ContactSerializer(many=True)


class FrequencySerializer(serializers.Serializer):
    number = serializers.IntegerField(min_value=1)
    unit = serializers.ChoiceField(choices=CapUnit.choices)


# "from" is a Python keyword: the class is built with its fields under their JSON names.
PauseSerializer = serializers.SerializerMetaclass(
    "PauseSerializer", (serializers.Serializer,), {"from": serializers.DateField(), "to": serializers.DateField(),
                                                   "__module__": __name__},
)


class ChannelPreferencesSerializer(serializers.Serializer):
    subscribed = serializers.BooleanField()
    dnc_reason = serializers.ChoiceField(choices=DncReason.choices, allow_null=True, read_only=True)
    frequency = FrequencySerializer(allow_null=True)
    pause = PauseSerializer(allow_null=True)


class PreferencesSerializer(serializers.Serializer):
    """The SPEC §6 shape. On PATCH every part is optional; on PUT every part is required."""

    channels = serializers.DictField(child=ChannelPreferencesSerializer())
    preferred_channel = serializers.CharField(allow_null=True)
    categories = serializers.DictField(child=serializers.BooleanField())
    segments = serializers.DictField(child=serializers.BooleanField())


class PreferencesPatchSerializer(PreferencesSerializer):
    channels = serializers.DictField(child=ChannelPreferencesSerializer(partial=True), required=False)
    preferred_channel = serializers.CharField(allow_null=True, required=False)
    categories = serializers.DictField(child=serializers.BooleanField(), required=False)
    segments = serializers.DictField(child=serializers.BooleanField(), required=False)


class DncAddSerializer(StrictSerializer):
    channel = serializers.SlugField(max_length=50)
    reason = serializers.ChoiceField(choices=DncReason.choices, default=DncReason.MANUAL)


class CategorySubscriptionSerializer(StrictSerializer):
    subscribed = serializers.BooleanField()


class MembershipBatchSerializer(StrictSerializer):
    add = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, default=list)
    remove = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, default=list)

    def validate(self, attrs):
        if not attrs["add"] and not attrs["remove"]:
            raise serializers.ValidationError("Send contact ids to add or to remove.")
        if len(attrs["add"]) + len(attrs["remove"]) > settings.API_BATCH_MAX:
            raise serializers.ValidationError(f"Send at most {settings.API_BATCH_MAX} contact ids per request.")
        if both := set(attrs["add"]) & set(attrs["remove"]):
            raise serializers.ValidationError(f"Contacts both added and removed: {sorted(both)[:10]}.")
        return attrs


class MembershipBatchResultSerializer(serializers.Serializer):
    added = serializers.IntegerField()
    removed = serializers.IntegerField()


class HistorySerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=ChangeKind.choices)
    old_value = serializers.JSONField(allow_null=True)
    new_value = serializers.JSONField(allow_null=True)

    class Meta:
        model = PreferenceChange
        fields = ["id", "kind", "subject", "old_value", "new_value", "source", "send_id", "created_at"]


class SendSerializer(serializers.ModelSerializer):
    channel = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    outcome = serializers.ChoiceField(choices=Outcome.choices)

    class Meta:
        model = Send
        fields = [
            "id", "message", "dispatch", "channel", "outcome", "reason", "decided_at", "sent_at", "deferred_until",
            "delivered_at",
        ]


class CategorySerializer(UnknownFieldsRefused, serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "slug", "name", "name_fr", "description", "description_fr", "public", "opt_in", "created_at"]
        read_only_fields = ["id", "created_at"]


class SegmentSerializer(UnknownFieldsRefused, serializers.ModelSerializer):
    filter = serializers.JSONField(
        required=False, allow_null=True,
        help_text="A dynamic segment's filter (docs/segments.md: join, groups of conditions); null for a static "
                  "segment. On write it is checked whole, and a 400 lists every problem.",
    )
    filter_words = serializers.SerializerMethodField(help_text="The filter as a sentence; empty for a static segment.")

    class Meta:
        model = Segment
        fields = ["id", "slug", "name", "name_fr", "public_name", "public_name_fr", "description", "description_fr", "public",
                  "filter", "filter_words", "created_at"]
        read_only_fields = ["id", "created_at"]

    def get_filter_words(self, segment) -> str:
        if segment.filter is None:
            return ""
        if "filter_catalog" not in self.context:  # read once per response, shared by a list's items
            self.context["filter_catalog"] = FilterCatalog.load()
        return segment_filter_words(segment=segment, catalog=self.context["filter_catalog"])


class MessageSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    segments = serializers.SlugRelatedField(slug_field="slug", read_only=True, many=True)
    channels = serializers.SerializerMethodField()
    archived = serializers.BooleanField(read_only=True)

    class Meta:
        model = Message
        fields = ["id", "name", "category", "segments", "channels", "transactional", "deliver_until", "archived",
                  "created_at", "updated_at"]

    def get_channels(self, message) -> list[str]:
        versions = sorted(message.versions.all(), key=lambda v: (v.position, v.channel_id))  # prefetched
        return [version.channel.slug for version in versions]


class DispatchSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=DispatchStatus.choices)
    counts = serializers.SerializerMethodField()
    decided = serializers.SerializerMethodField()

    class Meta:
        model = Dispatch
        fields = ["id", "message", "status", "recipients", "decided", "counts", "deliver_until", "created_at",
                  "planned_at", "finished_at"]

    def get_counts(self, dispatch) -> dict[str, int]:
        return self.context["progress"].counts

    def get_decided(self, dispatch) -> int:
        return self.context["progress"].decided


class DispatchCreatedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=DispatchStatus.choices)
    url = serializers.CharField()


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()
