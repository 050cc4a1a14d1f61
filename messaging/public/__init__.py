"""What a contact sees through a link (SPEC §4): the signed tokens, the preference page, one-click
unsubscribe. Its templates are ``messaging/templates/public``."""
