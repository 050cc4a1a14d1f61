"""Rendering the contact's page from plain data; ``skeleton`` shares the rendering of pages
that look alike."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from django.http import HttpResponse
from django.urls import reverse

from contacts.models import CapUnit
from contacts.services.channels import MAX_CAP
from messaging.feedback import leaving_reasons_offered
from messaging.models import Send
from messaging.pages import DETAILS, REASON, TEXT, text_sanitised
from messaging.public.page import PublicPage, masked_address, public_page_load
from messaging.public.skeleton import Slots, render_page

# Off only to measure the plain path beside it (bench/public_page.py --plain-too).
SHARED = os.environ.get("PUBLIC_PAGE_PLAIN") != "1"
# Not a valid signed token: a preview's links lead to the "link not valid" page.
PREVIEW_TOKEN = "preview"


@dataclass
class Outcome:
    confirmation: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)
    form: object = None  # the submitted form, re-shown when it had errors
    undo: str = ""  # after a page unsubscribe: the signed, time-limited token of its undo button
    reason: str = ""  # and the token of the reason question, bound to the events it made


def attribute(on: bool, name: str) -> str:
    return f" {name}" if on else ""


def page_context(
    page: PublicPage, token: str, link: str, outcome: Outcome, slot: Slots, *, preview: bool = False
) -> dict:
    """What the templates show, as plain data: everything but the slots is shared by every contact
    whose page looks the same, so that the whole context (less the slots) identifies the skeleton."""
    show = page.show
    send_row = page.send_channel
    channels = []
    for row in page.channels:
        channels.append({
            "slug": row.slug,
            "label": row.label,
            "locked": row.locked,
            "locked_message": row.locked_message,
            "checked": row.receives and not row.locked,
            "subscribed_errors": tuple(row.subscribed_errors),
            "number_errors": tuple(row.number_errors),
            "unit_errors": tuple(row.unit_errors),
            "from_errors": tuple(row.from_errors),
            "to_errors": tuple(row.to_errors),
            "cap_number": slot(row.cap_number) if show["channels"] else "",
            "units": tuple(
                (value, label, slot(attribute(row.cap_unit == value, "selected")))
                for value, label in (("", "—"), *((value, str(label)) for value, label in CapUnit.choices))
            ) if show["channels"] else (),
            "pause_from": slot(row.pause_from) if show["pause"] else "",
            "pause_to": slot(row.pause_to) if show["pause"] else "",
            "preferred": slot(attribute(page.preferred_channel == row.slug, "checked")) if show["preferred"] else "",
        })

    def choices(area: str) -> tuple:
        return tuple(
            {"slug": c.slug, "label": c.label, "description": c.description, "errors": tuple(c.errors),
             "highlight": c.highlight, "checked": slot(attribute(c.checked, "checked"))}
            for c in getattr(page, area)
        ) if show[area] else ()

    # The page built from the switches always asks; a designed page asks when it has the block.
    asks = bool(outcome.reason) and (page.blocks is None or REASON in page.kinds)
    # Read only when asked (right after an unsubscribe): every other view of the page costs nothing more.
    reasons = tuple(
        {"id": choice.pk, "label": choice.in_language("label"), "asks_text": choice.asks_text}
        for choice in leaving_reasons_offered()
    ) if asks else ()
    return {
        "link": link,
        "preview": preview,
        "blocks": designed_blocks(page.blocks),
        "brand": brand(page.design),
        "show": show,
        "has_form": page.has_form,
        "status": {
            "channel": send_row.label,
            "locked": send_row.locked,
            "locked_message": send_row.locked_message,
            "unsubscribed": send_row.dnc_reason is not None,
            # Which address the page is about, masked; a slot: it differs from one contact to the next.
            "address": slot(masked_address(page.contact.address_for(page.send.channel)))
            if page.contact.address_for(page.send.channel) else "",
        },
        "channels": channels,
        # The labels belong to the skeleton; each value is the contact's own (a slot, escaped).
        "details": tuple({"label": label, "value": slot(value)} for label, value in page.details)
        if page.blocks is None or DETAILS in page.kinds else (),
        "categories": choices("categories"),
        "segments": choices("segments"),
        "no_preference": slot(attribute(not page.preferred_channel, "checked")) if show["preferred"] else "",
        "preferred_errors": tuple(page.preferred_errors),
        "general_errors": tuple(page.general_errors),
        "max_cap": MAX_CAP,
        "confirmation": outcome.confirmation,
        "undo": slot(outcome.undo) if outcome.undo else "",
        "reason_token": slot(outcome.reason) if asks and reasons else "",
        "reasons": reasons,
        "reason_other": next((reason["label"] for reason in reasons if reason["asks_text"]), ""),
        "has_errors": bool(outcome.errors),
        "unsubscribe_text": _page_text(page.switches["unsubscribe_text"]),
        "resubscribe_text": _page_text(page.switches["resubscribe_text"]),
        "preferences_url": slot(reverse("messaging:preferences", args=[token])),
        "unsubscribe_url": slot(reverse("messaging:unsubscribe", args=[token])),
    }


def designed_blocks(blocks: list[dict] | None) -> tuple | None:
    """A designed page's blocks as the template shows them; a text block's HTML sanitised again
    on the way out (it was when stored), so that nothing else can ever reach the page."""
    if blocks is None:
        return None
    return tuple(
        {"kind": block["kind"], "text": block.get("text", ""),
         "html": text_sanitised(block.get("text", "")) if block["kind"] == TEXT else ""}
        for block in blocks
    )


def brand(design) -> dict | None:
    """What a designed page shows of its branding: the stylesheet and logo URLs, and the footer."""
    if design is None:
        return None
    return {
        "style_url": f"{reverse('messaging:page_style', args=[design.page_id])}?v={design.version}"
        if design.background else "",
        "logo_url": f"{reverse('messaging:page_logo', args=[design.page_id])}?v={design.version}" if design.logo else "",
        "footer": design.footer,
    }


def page_template(page: PublicPage) -> str:
    if page.blocks is not None:
        return "public/designed.html"
    return "public/preferences.html" if page.switches["show_preferences"] else "public/unsubscribe.html"


def preview_page(request, send: Send) -> HttpResponse:
    """The page exactly as ``send``'s contact would see it, for staff: rendered for this request only,
    its buttons disabled and its links pointing at a token that names no send."""
    page = public_page_load(send)
    slot = Slots(shared=False)
    context = page_context(page, PREVIEW_TOKEN, "preferences", Outcome(), slot, preview=True)
    return render_page(request, page_template(page), context, slot)


def show_page(request, send: Send, token: str, *, link: str, outcome: Outcome | None = None) -> HttpResponse:
    page = public_page_load(send)
    outcome = outcome or Outcome()
    if outcome.form is not None:
        page.fill(outcome.form)
    page.place_errors(outcome.errors)
    # A form shown again with its errors holds what was typed: rendered for this request only.
    slot = Slots(shared=SHARED and outcome.form is None and not outcome.errors)
    context = page_context(page, token, link, outcome, slot)
    return render_page(request, page_template(page), context, slot)


def _page_text(text: str) -> str:
    """A text staff wrote for the email footer, without the link placeholders that mean nothing on the page."""
    for placeholder in ("{unsubscribe_url}", "{preferences_url}", "{unsubscribe_text}"):
        text = text.replace(placeholder, "")
    return text.strip().rstrip(":").strip()
