"""The REST API (SPEC §6): each view checks the key's scope, parses with a serializer and calls the
one service that makes the change, with the source ``api:<key name>``."""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager

from django.db import transaction
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from contacts import selectors as contact_selectors
from contacts.models import Category, Channel, Contact, Segment, phone_normalise
from contacts.services import (
    category_create,
    category_update,
    PreferencesInvalid,
    Source,
    category_subscribe,
    category_unsubscribe,
    channel_dnc_clear,
    channel_subscribe,
    channel_unsubscribe,
    contact_delete,
    contact_fields_update,
    contact_preferences_update,
    contact_save,
    field_values_clean,
    segment_create,
    segment_membership_add,
    segment_membership_remove,
    segment_update,
)
from messaging import selectors as messaging_selectors
from messaging.models import Dispatch, Message
from messaging.services import dispatch_create

from .. import serializers as s
from ..errors import PreconditionFailed, PreconditionRequired
from ..idempotency import idempotent
from ..models import Scope

ERRORS = {code: OpenApiResponse(s.ErrorSerializer) for code in (400, 401, 403, 404, 409, 422, 429)}
IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
    description="A retry with the same key gets the first response back and changes nothing more.",
)


def errors(*codes: int) -> dict:
    """Error responses in the one error shape; 400 (a bad query or header) is possible everywhere."""
    return {code: ERRORS.get(code) or OpenApiResponse(s.ErrorSerializer) for code in {400, *codes}}


class Cursor(CursorPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
    ordering = "id"

    def get_page_size(self, request) -> int:
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= self.max_page_size:
            raise serializers.ValidationError(
                {self.page_size_query_param: [f"Enter a whole number from 1 to {self.max_page_size}."]})
        return int(value)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": self.max_page_size})
        return parameters


class NewestFirst(Cursor):
    ordering = "-id"


class ApiView(GenericAPIView):
    metadata_class = None  # OPTIONS answers 405: the OpenAPI document describes every endpoint
    read_scope = Scope.READ
    write_scope: str | None = None
    query_parameters: frozenset[str] = frozenset()  # any other query parameter is refused: a typo is an error

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if unknown := sorted(set(request.query_params) - self.query_parameters):
            raise serializers.ValidationError({name[:100]: ["Unknown query parameter."] for name in unknown[:20]})

    def source(self) -> Source:
        return Source(f"api:{self.request.auth.name}")


class ListView(ApiView):
    pagination_class = Cursor
    query_parameters = frozenset({"cursor", "page_size"})

    def list_response(self, queryset) -> Response:
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


# --- Contacts ----------------------------------------------------------------------------------------


class ContactList(ListView):
    serializer_class = s.ContactSerializer
    write_scope = Scope.WRITE_CONTACTS
    query_parameters = ListView.query_parameters | {"segment", "field"}

    @extend_schema(
        parameters=[
            OpenApiParameter("segment", str, description="Only current members of the segment with this slug."),
            OpenApiParameter("field", str, many=True, description=(
                "`<key>:<value>`: only contacts whose custom field has this value (typed as the field is); "
                "`<key>:` for contacts without a value. Repeat to combine.")),
        ],
        responses={200: s.ContactSerializer(many=True), **errors(400, 401, 403, 404, 429)},
    )
    def get(self, request):
        contacts = Contact.objects.order_by("id")
        if "segment" in request.query_params:
            segment = get_object_or_404(Segment, slug=request.query_params["segment"][:50])
            contacts = contact_selectors.segment_members(segment=segment).order_by("id")
        for condition in request.query_params.getlist("field"):
            key, colon, raw = condition.partition(":")
            if not colon:
                raise serializers.ValidationError({"field": ["Send <key>:<value>."]})
            try:
                value = field_values_clean({key: raw})[key]
            except DjangoValidationError as error:
                raise serializers.ValidationError({"field": error.messages})
            # jsonb containment: the GIN index on Contact.fields answers it
            contacts = contacts.exclude(fields__has_key=key) if value is None else contacts.filter(
                fields__contains={key: value})
        return self.list_response(contacts)

    @extend_schema(parameters=[IDEMPOTENCY], responses={201: s.ContactSerializer, **errors(400, 401, 403, 409, 422, 429)})
    @idempotent
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        details = dict(serializer.validated_data)
        values = details.pop("fields", None)
        with transaction.atomic():
            contact = contact_save(contact=Contact(**details), source=self.source())
            if values:
                contact_fields_update(contact=contact, values=values, source=self.source())
        return Response(self.get_serializer(contact).data, status=status.HTTP_201_CREATED,
                        headers={"Location": reverse("api:contact_detail", args=[contact.pk])})


class ContactLookup(ApiView):
    """Contacts by email or phone, sent in the body so addresses stay out of URLs and access logs."""

    write_scope = Scope.READ  # a read, sent as POST
    serializer_class = s.ContactLookupSerializer

    @extend_schema(request=s.ContactLookupSerializer, responses={200: s.ContactListSerializer, **errors(400, 401, 403, 429)})
    def post(self, request):
        query = s.ContactLookupSerializer(data=request.data)
        query.is_valid(raise_exception=True)
        if "email" in query.validated_data:
            contacts = contact_selectors.contacts_with_email(query.validated_data["email"])
        else:
            contacts = Contact.objects.filter(phone=phone_normalise(query.validated_data["phone"]))
        return Response({"results": s.ContactSerializer(contacts.order_by("id")[:100], many=True).data})


class ContactDetail(ApiView):
    serializer_class = s.ContactSerializer
    write_scope = Scope.WRITE_CONTACTS
    http_method_names = ["get", "patch", "delete"]

    @extend_schema(responses={200: s.ContactSerializer, **errors(401, 403, 404, 429)})
    def get(self, request, pk: int):
        return Response(self.get_serializer(get_object_or_404(Contact, pk=pk)).data)

    @extend_schema(parameters=[IDEMPOTENCY], responses={200: s.ContactSerializer, **errors(400, 401, 403, 404, 409, 422, 429)})
    @idempotent
    def patch(self, request, pk: int):
        contact = get_object_or_404(Contact, pk=pk)
        serializer = self.get_serializer(contact, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        details = dict(serializer.validated_data)
        values = details.pop("fields", None)
        with transaction.atomic():
            for name, value in details.items():
                setattr(contact, name, value)
            contact_save(contact=contact, source=self.source())
            if values:
                contact_fields_update(contact=contact, values=values, source=self.source())
        contact.refresh_from_db()
        return Response(self.get_serializer(contact).data)

    @extend_schema(
        parameters=[IDEMPOTENCY], request=None,
        responses={204: OpenApiResponse(description="Erased: the contact, their history and their sends."),
                   **errors(401, 403, 404, 409, 422, 429)},
    )
    @idempotent
    def delete(self, request, pk: int):
        """Erasure: the staff "delete contact" service, its tombstone naming the key (``api:<name>``)."""
        contact = get_object_or_404(Contact, pk=pk)
        contact_delete(contact=contact, acting_user=self.source())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Preferences -------------------------------------------------------------------------------------


def preferences_etag(shape: dict) -> str:
    return '"' + hashlib.sha256(json.dumps(shape, sort_keys=True, default=str).encode()).hexdigest()[:32] + '"'


def if_match_holds(header: str, etag: str) -> bool:
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag in tags


def preferences_response(contact: Contact) -> Response:
    shape = contact_selectors.contact_preferences(contact)
    return Response(shape, headers={"ETag": preferences_etag(shape)})


IF_MATCH = OpenApiParameter(
    "If-Match", str, OpenApiParameter.HEADER,
    description="The ETag of the preferences you read; 412 when they changed since.",
)


class ContactPreferences(ApiView):
    """A contact's preferences in the SPEC §6 shape, with an ETag; writes are all-or-nothing."""

    write_scope = Scope.WRITE_PREFERENCES
    serializer_class = s.PreferencesSerializer
    http_method_names = ["get", "put", "patch"]

    @extend_schema(responses={200: s.PreferencesSerializer, **errors(401, 403, 404, 429)})
    def get(self, request, pk: int):
        return preferences_response(get_object_or_404(Contact, pk=pk))

    def write(self, request, pk: int, *, replace: bool) -> Response:
        data = request.data  # a body that is not JSON is a 400 before any precondition is weighed
        with transaction.atomic():
            # Locked from the If-Match check to the write: nobody changes them in between.
            contact = get_object_or_404(Contact.objects.select_for_update(), pk=pk)
            if_match = request.headers.get("If-Match")
            if replace and not if_match:
                raise PreconditionRequired()
            current = contact_selectors.contact_preferences(contact)
            if if_match and not if_match_holds(if_match, preferences_etag(current)):
                raise PreconditionFailed()
            if replace and isinstance(data, dict):
                missing = replacement_missing(current, data)
                if missing:
                    raise PreferencesInvalid({path: ["Missing: PUT replaces every preference."] for path in missing})
            contact_preferences_update(contact=contact, data=data, source=self.source())
        return preferences_response(contact)

    @extend_schema(
        request=s.PreferencesSerializer,
        parameters=[IDEMPOTENCY, OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=True,
                                                  description="Required: the ETag of the preferences you replace.")],
        responses={200: s.PreferencesSerializer, 412: OpenApiResponse(s.ErrorSerializer),
                   428: OpenApiResponse(s.ErrorSerializer), **errors(400, 401, 403, 404, 422, 429)},
    )
    @idempotent
    def put(self, request, pk: int):
        return self.write(request, pk, replace=True)

    @extend_schema(
        request=s.PreferencesPatchSerializer,
        parameters=[IDEMPOTENCY, IF_MATCH],
        responses={200: s.PreferencesSerializer, 412: OpenApiResponse(s.ErrorSerializer),
                   **errors(400, 401, 403, 404, 422, 429)},
    )
    @idempotent
    def patch(self, request, pk: int):
        return self.write(request, pk, replace=False)


def replacement_missing(current: dict, data: dict) -> list[str]:
    """Paths a PUT leaves out: every top-level part, every channel, category and segment the GET shows."""
    missing = [key for key in current if key not in data]
    for area in ("channels", "categories", "segments"):
        given = data.get(area)
        if isinstance(given, dict):
            missing += [f"{area}.{slug}" for slug in current[area] if slug not in given]
    for slug, spec in (data.get("channels") or {}).items() if isinstance(data.get("channels"), dict) else ():
        if isinstance(spec, dict) and slug in current["channels"]:
            missing += [f"channels.{slug}.{f}" for f in ("subscribed", "frequency", "pause") if f not in spec]
    return missing


# --- Do-not-contact, categories, segments of one contact -------------------------------------------


class ContactDncAdd(ApiView):
    write_scope = Scope.WRITE_PREFERENCES
    serializer_class = s.DncAddSerializer

    @extend_schema(parameters=[IDEMPOTENCY], responses={200: s.PreferencesSerializer, **errors(400, 401, 403, 404, 422, 429)})
    @idempotent
    def post(self, request, pk: int):
        contact = get_object_or_404(Contact, pk=pk)
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        channel = get_object_or_404(Channel, slug=data.validated_data["channel"])
        channel_unsubscribe(contact=contact, channel=channel, source=self.source(), reason=data.validated_data["reason"])
        return preferences_response(contact)


class ContactDncRemove(ApiView):
    write_scope = Scope.WRITE_PREFERENCES
    serializer_class = None
    query_parameters = frozenset({"hard"})

    @extend_schema(
        parameters=[IDEMPOTENCY, OpenApiParameter(
            "hard", bool, description="Also lift a bounce or a complaint (otherwise refused with 400).")],
        request=None, responses={200: s.PreferencesSerializer, **errors(400, 401, 403, 404, 422, 429)},
    )
    @idempotent
    def delete(self, request, pk: int, channel: str):
        contact = get_object_or_404(Contact, pk=pk)
        channel = get_object_or_404(Channel, slug=channel)
        hard = request.query_params.get("hard", "false").lower()
        if hard not in ("true", "false"):
            raise serializers.ValidationError({"hard": ["Expected true or false."]})
        lift = channel_dnc_clear if hard == "true" else channel_subscribe
        lift(contact=contact, channel=channel, source=self.source())
        return preferences_response(contact)


class ContactCategory(ApiView):
    write_scope = Scope.WRITE_PREFERENCES
    serializer_class = s.CategorySubscriptionSerializer

    @extend_schema(parameters=[IDEMPOTENCY], responses={200: s.PreferencesSerializer, **errors(400, 401, 403, 404, 422, 429)})
    @idempotent
    def put(self, request, pk: int, slug: str):
        contact = get_object_or_404(Contact, pk=pk)
        category = get_object_or_404(Category, slug=slug)
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        action = category_subscribe if data.validated_data["subscribed"] else category_unsubscribe
        action(contact=contact, category=category, source=self.source())
        return preferences_response(contact)


class ContactSegment(ApiView):
    write_scope = Scope.WRITE_PREFERENCES
    serializer_class = None

    def change(self, pk: int, slug: str, action) -> Response:
        contact = get_object_or_404(Contact, pk=pk)
        action(contact=contact, segment=get_object_or_404(Segment, slug=slug), source=self.source())
        return preferences_response(contact)

    @extend_schema(parameters=[IDEMPOTENCY], request=None, responses={200: s.PreferencesSerializer, **errors(401, 403, 404, 422, 429)})
    @idempotent
    def put(self, request, pk: int, slug: str):
        return self.change(pk, slug, segment_membership_add)

    @extend_schema(parameters=[IDEMPOTENCY], request=None, responses={200: s.PreferencesSerializer, **errors(401, 403, 404, 422, 429)})
    @idempotent
    def delete(self, request, pk: int, slug: str):
        return self.change(pk, slug, segment_membership_remove)


class ContactHistory(ListView):
    serializer_class = s.HistorySerializer
    pagination_class = NewestFirst

    @extend_schema(responses={200: s.HistorySerializer(many=True), **errors(401, 403, 404, 429)})
    def get(self, request, pk: int):
        contact = get_object_or_404(Contact, pk=pk)
        return self.list_response(contact.preference_changes.all())


class ContactSends(ListView):
    serializer_class = s.SendSerializer
    pagination_class = NewestFirst

    @extend_schema(responses={200: s.SendSerializer(many=True), **errors(401, 403, 404, 429)})
    def get(self, request, pk: int):
        contact = get_object_or_404(Contact, pk=pk)
        return self.list_response(messaging_selectors.contact_sends(contact).order_by())


# --- Categories, segments, messages, dispatches -------------------------------------------------------


class CategoryList(ListView):
    serializer_class = s.CategorySerializer
    write_scope = Scope.WRITE_CONTACTS

    @extend_schema(responses={200: s.CategorySerializer(many=True), **errors(401, 403, 404, 429)})
    def get(self, request):
        return self.list_response(Category.objects.all())

    @extend_schema(parameters=[IDEMPOTENCY], responses={201: s.CategorySerializer, **errors(400, 401, 403, 409, 422, 429)})
    @idempotent
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        category = category_create(acting_user=self.source(), **serializer.validated_data)
        return Response(self.get_serializer(category).data, status=status.HTTP_201_CREATED,
                        headers={"Location": reverse("api:category_detail", args=[category.pk])})


class CategoryDetail(ApiView):
    serializer_class = s.CategorySerializer
    write_scope = Scope.WRITE_CONTACTS
    http_method_names = ["get", "patch"]

    @extend_schema(responses={200: s.CategorySerializer, **errors(401, 403, 404, 429)})
    def get(self, request, pk: int):
        return Response(self.get_serializer(get_object_or_404(Category, pk=pk)).data)

    @extend_schema(parameters=[IDEMPOTENCY], responses={200: s.CategorySerializer, **errors(400, 401, 403, 404, 409, 422, 429)})
    @idempotent
    def patch(self, request, pk: int):
        category = get_object_or_404(Category, pk=pk)
        serializer = self.get_serializer(category, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return Response(self.get_serializer(category_update(category=category, acting_user=self.source(),
                                                            **serializer.validated_data)).data)


class SegmentList(ListView):
    serializer_class = s.SegmentSerializer
    write_scope = Scope.WRITE_CONTACTS

    @extend_schema(responses={200: s.SegmentSerializer(many=True), **errors(401, 403, 404, 429)})
    def get(self, request):
        return self.list_response(Segment.objects.all())

    @extend_schema(parameters=[IDEMPOTENCY], responses={201: s.SegmentSerializer, **errors(400, 401, 403, 409, 422, 429)})
    @idempotent
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with filter_errors():
            segment = segment_create(acting_user=self.source(), **serializer.validated_data)
        return Response(self.get_serializer(segment).data, status=status.HTTP_201_CREATED,
                        headers={"Location": reverse("api:segment_detail", args=[segment.pk])})


class SegmentDetail(ApiView):
    serializer_class = s.SegmentSerializer
    write_scope = Scope.WRITE_CONTACTS
    http_method_names = ["get", "patch"]

    @extend_schema(responses={200: s.SegmentSerializer, **errors(401, 403, 404, 429)})
    def get(self, request, pk: int):
        return Response(self.get_serializer(get_object_or_404(Segment, pk=pk)).data)

    @extend_schema(parameters=[IDEMPOTENCY], responses={200: s.SegmentSerializer, **errors(400, 401, 403, 404, 409, 422, 429)})
    @idempotent
    def patch(self, request, pk: int):
        segment = get_object_or_404(Segment, pk=pk)
        serializer = self.get_serializer(segment, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        with filter_errors():
            segment = segment_update(segment=segment, acting_user=self.source(), **serializer.validated_data)
        return Response(self.get_serializer(segment).data)


@contextmanager
def filter_errors():
    """A filter the one validation (``filter_clean``, in the segment services) refuses: a 400 listing
    every problem under ``filter``."""
    try:
        yield
    except DjangoValidationError as error:
        raise serializers.ValidationError({"filter": error.messages})


class SegmentMembers(ListView):
    """Current members (GET), and up to ``API_BATCH_MAX`` contacts added or removed at once (POST)."""

    serializer_class = s.ContactSerializer
    write_scope = Scope.WRITE_PREFERENCES

    @extend_schema(responses={200: s.ContactSerializer(many=True), **errors(401, 403, 404, 429)})
    def get(self, request, pk: int):
        segment = get_object_or_404(Segment, pk=pk)
        return self.list_response(contact_selectors.segment_members(segment=segment).order_by("id"))

    @extend_schema(
        parameters=[IDEMPOTENCY], request=s.MembershipBatchSerializer,
        responses={200: s.MembershipBatchResultSerializer, **errors(400, 401, 403, 404, 422, 429)},
    )
    @idempotent
    def post(self, request, pk: int):
        segment = get_object_or_404(Segment, pk=pk)
        batch = s.MembershipBatchSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        wanted = set(batch.validated_data["add"]) | set(batch.validated_data["remove"])
        contacts = Contact.objects.in_bulk(wanted)
        if unknown := sorted(wanted - contacts.keys()):
            raise serializers.ValidationError({"__all__": [f"Unknown contact ids: {unknown[:20]}."]})
        source = self.source()
        with transaction.atomic():  # the whole batch or nothing
            for contact_id in dict.fromkeys(batch.validated_data["add"]):
                segment_membership_add(contact=contacts[contact_id], segment=segment, source=source)
            for contact_id in dict.fromkeys(batch.validated_data["remove"]):
                segment_membership_remove(contact=contacts[contact_id], segment=segment, source=source)
        return Response({"added": len(set(batch.validated_data["add"])), "removed": len(set(batch.validated_data["remove"]))})


class MessageList(ListView):
    serializer_class = s.MessageSerializer

    @extend_schema(responses={200: s.MessageSerializer(many=True), **errors(401, 403, 404, 429)})
    def get(self, request):
        messages = Message.objects.select_related("category").prefetch_related("segments", "versions__channel")
        return self.list_response(messages)


class MessageDetail(ApiView):
    serializer_class = s.MessageSerializer

    @extend_schema(responses={200: s.MessageSerializer, **errors(401, 403, 404, 429)})
    def get(self, request, pk: int):
        messages = Message.objects.select_related("category").prefetch_related("segments", "versions__channel")
        return Response(self.get_serializer(get_object_or_404(messages, pk=pk)).data)


class MessageDispatch(ApiView):
    write_scope = Scope.SEND
    serializer_class = None

    @extend_schema(parameters=[IDEMPOTENCY], request=None,
                   responses={202: s.DispatchCreatedSerializer, **errors(401, 403, 404, 409, 422, 429)})
    @idempotent
    def post(self, request, pk: int):
        message = get_object_or_404(Message, pk=pk)
        dispatch = dispatch_create(message=message)
        url = reverse("api:dispatch_detail", args=[dispatch.pk])
        return Response({"id": dispatch.pk, "status": dispatch.status, "url": url},
                        status=status.HTTP_202_ACCEPTED, headers={"Location": url})


class DispatchDetail(ApiView):
    serializer_class = s.DispatchSerializer

    @extend_schema(responses={200: s.DispatchSerializer, **errors(401, 403, 404, 429)})
    def get(self, request, pk: int):
        dispatch = get_object_or_404(Dispatch, pk=pk)
        progress = messaging_selectors.dispatch_progress(dispatch=dispatch)
        return Response(s.DispatchSerializer(dispatch, context={"progress": progress}).data)


@csrf_exempt  # no session is ever used under /api/v1/: a JSON 404, not a CSRF page
def not_found(request, *args, **kwargs) -> JsonResponse:
    return JsonResponse({"error": {"code": "not_found", "message": "No such endpoint: see /api/v1/docs/."}}, status=404)
