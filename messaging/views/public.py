"""Public links carried by every message (SPEC §4).

The pages themselves belong to a later issue. Until it lands these views answer 404 so that
links can already be generated, reversed and tested, and no half-built page is exposed.
"""

from django.http import Http404


def preferences(request, token: str):
    raise Http404("This link is not valid.")


def unsubscribe(request, token: str):
    raise Http404("This link is not valid.")
