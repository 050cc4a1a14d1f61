from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    """Django's admin, served by a site that only superusers may enter."""

    default_site = "preference_center.admin.SuperuserAdminSite"
