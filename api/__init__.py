"""The REST API of SPEC §6 (``/api/v1/``): thin views over ``contacts.services`` and ``messaging.services``."""
