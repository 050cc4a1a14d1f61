"""Views of the contacts app: ``staff`` is the logged-in marketers' UI."""
