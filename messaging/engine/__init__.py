"""The dispatch engine: planning a dispatch, deciding each batch, the deferral queue, the locks they
take (``locks``) and enqueueing by task name (``queue``). The Celery tasks are ``messaging.tasks``."""
