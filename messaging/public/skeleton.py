"""Pages that look alike share one rendered skeleton, filled with each contact's own values.

Rendering the page's template costs more than everything else the page does; most contacts' pages
differ only in a few values. A page is rendered once per (template, language, context less those
values) with a numbered marker in place of each value, and each request fills in its own, escaped.
"""

from __future__ import annotations

import re
import threading

from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe


class Slots:
    """The values that differ from one contact to the next on pages that otherwise look the same.

    Filled in directly (``shared=False``), a slot is its value. For a shared skeleton each slot is
    a numbered marker instead, and ``fill`` puts this contact's escaped values into the skeleton.
    """

    MARK = re.compile("\x00([0-9]+)\x00")

    def __init__(self, shared: bool):
        self.shared = shared
        self.values: list[str] = []

    def __call__(self, value: str) -> str:
        if not self.shared:
            return value
        self.values.append(conditional_escape(value))
        return mark_safe(f"\x00{len(self.values) - 1}\x00")

    def fill(self, skeleton: str) -> str:
        return self.MARK.sub(lambda match: self.values[int(match.group(1))], skeleton)


# Rendered skeletons by (template, language, shared context). The key holds every input of the
# page but the slots, so an entry never goes stale: a change of anything shown makes a new key.
SKELETONS: dict[tuple, str] = {}
SKELETONS_MAX = 512
_skeletons_lock = threading.Lock()


def render_page(request, template: str, context: dict, slot: Slots) -> HttpResponse:
    """The page, from the shared skeleton when ``slot`` is shared (rendered and kept the first time)."""
    if not slot.shared:
        return render(request, template, context)
    key = (template, translation.get_language(), repr(context))
    skeleton = SKELETONS.get(key)
    if skeleton is None:
        skeleton = render_to_string(template, context)
        with _skeletons_lock:
            while len(SKELETONS) >= SKELETONS_MAX:
                SKELETONS.pop(next(iter(SKELETONS)))
            SKELETONS[key] = skeleton
    return HttpResponse(slot.fill(skeleton))
