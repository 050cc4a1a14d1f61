"""The admin site: superusers only.

Editors and viewers are ``is_staff`` so that they can log in to the staff pages, whose
permissions are checked per page; the admin writes rows directly and edits users, groups and
channels' delivery backends, so it is kept for superusers alone.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _


class SuperuserAdminSite(admin.AdminSite):
    site_header = _("Preference Center administration")
    site_title = _("Preference Center admin")

    def has_permission(self, request) -> bool:
        # Anyone else is sent to the admin's login page, which says they are not authorised.
        return request.user.is_active and request.user.is_superuser
