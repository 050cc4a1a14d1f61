"""``/api/v1/``: the REST API, its OpenAPI schema and its browsable docs."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from .views import api, docs


app_name = "api"
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", docs.swagger_ui, name="docs"),
    path("contacts/", api.ContactList.as_view(), name="contact_list"),
    path("contacts/lookup/", api.ContactLookup.as_view(), name="contact_lookup"),
    path("contacts/<int:pk>/", api.ContactDetail.as_view(), name="contact_detail"),
    path("contacts/<int:pk>/preferences/", api.ContactPreferences.as_view(), name="contact_preferences"),
    path("contacts/<int:pk>/dnc/", api.ContactDncAdd.as_view(), name="contact_dnc_add"),
    path("contacts/<int:pk>/dnc/<slug:channel>/", api.ContactDncRemove.as_view(), name="contact_dnc_remove"),
    path("contacts/<int:pk>/categories/<slug:slug>/", api.ContactCategory.as_view(), name="contact_category"),
    path("contacts/<int:pk>/segments/<slug:slug>/", api.ContactSegment.as_view(), name="contact_segment"),
    path("contacts/<int:pk>/history/", api.ContactHistory.as_view(), name="contact_history"),
    path("contacts/<int:pk>/sends/", api.ContactSends.as_view(), name="contact_sends"),
    path("categories/", api.CategoryList.as_view(), name="category_list"),
    path("categories/<int:pk>/", api.CategoryDetail.as_view(), name="category_detail"),
    path("segments/", api.SegmentList.as_view(), name="segment_list"),
    path("segments/<int:pk>/", api.SegmentDetail.as_view(), name="segment_detail"),
    path("segments/<int:pk>/members/", api.SegmentMembers.as_view(), name="segment_members"),
    path("messages/", api.MessageList.as_view(), name="message_list"),
    path("messages/<int:pk>/", api.MessageDetail.as_view(), name="message_detail"),
    path("messages/<int:pk>/dispatch/", api.MessageDispatch.as_view(), name="message_dispatch"),
    path("dispatches/<int:pk>/", api.DispatchDetail.as_view(), name="dispatch_detail"),
    re_path(r"", api.not_found),  # any other path under /api/v1/: a JSON 404 in the error shape
]
