from django.urls import path

from contacts.views import staff

app_name = "contacts"
urlpatterns = [
    path("login/", staff.login, name="login"),
    path("logout/", staff.logout, name="logout"),
    path("", staff.contact_list, name="contact_list"),
    path("contacts/new/", staff.contact_create, name="contact_create"),
    path("contacts/<int:pk>/", staff.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/history/", staff.contact_history, name="contact_history"),
    path("contacts/<int:pk>/edit/", staff.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/preferences/", staff.contact_preferences, name="contact_preferences"),
    path("contacts/<int:pk>/dnc/<slug:channel>/clear/", staff.contact_dnc_clear, name="contact_dnc_clear"),
    path("categories/", staff.category_list, name="category_list"),
    path("categories/new/", staff.category_create, name="category_create"),
    path("categories/<int:pk>/edit/", staff.category_edit, name="category_edit"),
    path("categories/<int:pk>/delete/", staff.category_delete, name="category_delete"),
    path("segments/", staff.segment_list, name="segment_list"),
    path("segments/new/", staff.segment_create, name="segment_create"),
    path("segments/<int:pk>/", staff.segment_detail, name="segment_detail"),
    path("segments/<int:pk>/edit/", staff.segment_edit, name="segment_edit"),
    path("segments/<int:pk>/delete/", staff.segment_delete, name="segment_delete"),
    path("segments/<int:pk>/members/add/", staff.segment_member_add, name="segment_member_add"),
    path(
        "segments/<int:pk>/members/<int:contact_pk>/remove/",
        staff.segment_member_remove,
        name="segment_member_remove",
    ),
    path("settings/", staff.settings_edit, name="settings"),
    path("account/", staff.account_settings, name="account_settings"),
]
