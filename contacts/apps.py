from django.apps import AppConfig
from django.db.models.signals import post_migrate

# The two staff roles of SPEC §5. Viewers read everything; Editors also change contacts'
# preferences, categories, segments and the global settings. Permissions are only ever added
# here, so an administrator's additions to a group survive the next migrate.
CONTACTS_MODELS = (
    "contact",
    "channel",
    "donotcontact",
    "channelpreference",
    "category",
    "categorysubscription",
    "segment",
    "segmentmembership",
    "preferencechange",
    "preferencesettings",
    "contactimport",
    "contactfield",
)
VIEWER_PERMISSIONS = tuple(f"view_{model}" for model in CONTACTS_MODELS)
EDITOR_PERMISSIONS = VIEWER_PERMISSIONS + (
    "add_contact",
    "change_contact",
    "delete_contact",
    "change_channel",
    "add_category",
    "change_category",
    "delete_category",
    "add_segment",
    "change_segment",
    "delete_segment",
    "change_preferencesettings",
    "add_contactimport",
    "add_contactfield",
    "change_contactfield",
    "delete_contactfield",
)
STAFF_GROUPS = {"Viewers": VIEWER_PERMISSIONS, "Editors": EDITOR_PERMISSIONS}


def staff_groups_grant(app_config, grants: dict[str, tuple[str, ...]], using: str = "default") -> None:
    """Create the staff groups if needed and give each the app's permissions listed for it."""
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    create_permissions(app_config, verbosity=0, using=using)
    for name, codenames in grants.items():
        group, _created = Group.objects.using(using).get_or_create(name=name)
        permissions = Permission.objects.using(using).filter(
            content_type__app_label=app_config.label, codename__in=codenames
        )
        group.permissions.add(*permissions)


def staff_groups_create(sender, *, using="default", **kwargs) -> None:
    """Create the Viewers and Editors groups and give them their permissions (after every migrate)."""
    staff_groups_grant(sender, STAFF_GROUPS, using=using)


class ContactsConfig(AppConfig):
    name = "contacts"
    verbose_name = "Contacts and preferences"

    def ready(self) -> None:
        from contacts.bootstrap import default_rows_ensure_after_migrate
        from contacts.search import search_fold_install

        search_fold_install()
        from django.contrib.auth.signals import user_logged_in

        from contacts.services.staff_preferences import staff_time_zone_to_session

        user_logged_in.connect(staff_time_zone_to_session, dispatch_uid="contacts.staff_time_zone_to_session")

        post_migrate.connect(staff_groups_create, sender=self, dispatch_uid="contacts.staff_groups_create")
        post_migrate.connect(default_rows_ensure_after_migrate, sender=self, dispatch_uid="contacts.default_rows")
