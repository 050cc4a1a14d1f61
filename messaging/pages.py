"""Preference pages designed from blocks: the blocks there are, what a version's blocks must look
like to be stored, and what a page must hold to be published (issue: "checked when published").

One home for these rules: the staff editor, the publish service and the public page read them here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import nh3
from django.core.exceptions import ValidationError
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, gettext_lazy as _

from contacts.models import Category, Segment

# Every kind of block, in the order the editor offers them.
HEADING, TEXT, UNSUBSCRIBE = "heading", "text", "unsubscribe"
CHANNELS, PAUSE, PREFERRED, CATEGORIES, SEGMENTS = "channels", "pause", "preferred", "categories", "segments"
UNSUBSCRIBE_ALL, SAVE, CONFIRMATION, REASON = "unsubscribe_all", "save", "confirmation", "reason"
DETAILS = "details"
BLOCK_KINDS = {
    HEADING: _("Heading"),
    TEXT: _("Text"),
    UNSUBSCRIBE: _("Unsubscribe from the message's channel"),
    CHANNELS: _("Channels and frequency"),
    PAUSE: _("Pause dates"),
    PREFERRED: _("Preferred channel"),
    CATEGORIES: _("Categories"),
    SEGMENTS: _("Segments"),
    UNSUBSCRIBE_ALL: _("Unsubscribe from all"),
    SAVE: _("Save button"),
    CONFIRMATION: _("Confirmation text"),
    REASON: _("Reason for leaving (asked after an unsubscribe)"),
    DETAILS: _("Your details (custom fields contacts may see, read-only)"),
}
# Blocks whose fields the save button sends; each may appear once (their fields share names).
INPUTS = (CHANNELS, PAUSE, PREFERRED, CATEGORIES, SEGMENTS)
# Blocks that write text staff enter; each other block has none.
WITH_TEXT = (HEADING, TEXT, CONFIRMATION)
ONCE = (*INPUTS, UNSUBSCRIBE, UNSUBSCRIBE_ALL, SAVE, CONFIRMATION, REASON, DETAILS)
MAX_BLOCKS = 40
MAX_TEXT = 5000

# The formatting a text block may keep; everything else (scripts, styles, images, handlers) is removed.
TEXT_TAGS = {"p", "br", "strong", "em", "b", "i", "ul", "ol", "li", "a", "h2", "h3", "blockquote"}
TEXT_ATTRIBUTES = {"a": {"href", "title"}}
TEXT_URL_SCHEMES = {"https", "http", "mailto"}


def text_sanitised(html: str) -> SafeString:
    """A text block's HTML reduced to a safe subset (nh3/ammonia): what may reach a contact's browser."""
    return mark_safe(  # noqa: S308 - the output of the sanitiser
        nh3.clean(html, tags=TEXT_TAGS, attributes=TEXT_ATTRIBUTES, url_schemes=TEXT_URL_SCHEMES, link_rel="noopener noreferrer nofollow")
    )


def blocks_clean(blocks: Iterable[Mapping]) -> list[dict]:
    """The blocks of one version as they are stored: known kinds, texts trimmed (text blocks
    sanitised), input blocks once each, categories a subset of public ones (none chosen: all public),
    segments a non-empty subset of public ones. Raises ``ValidationError`` with every problem."""
    cleaned, errors, seen = [], [], set()
    blocks = list(blocks)
    if len(blocks) > MAX_BLOCKS:
        raise ValidationError(gettext("A page holds at most %(max)s blocks.") % {"max": MAX_BLOCKS})
    public = {
        CATEGORIES: {c.pk: c.name for c in Category.objects.filter(public=True)},
        SEGMENTS: {s.pk: s.name for s in Segment.objects.filter(public=True)},
    }
    for position, block in enumerate(blocks, start=1):
        kind = block.get("kind")
        if kind not in BLOCK_KINDS:
            errors.append(gettext("Block %(n)s: unknown kind.") % {"n": position})
            continue
        label = str(BLOCK_KINDS[kind])
        if kind in ONCE and kind in seen:
            errors.append(gettext("Block %(n)s: “%(kind)s” can appear only once on a page.") % {"n": position, "kind": label})
            continue
        seen.add(kind)
        item = {"kind": kind}
        if kind in WITH_TEXT:
            text = str(block.get("text") or "").strip()
            if not text:
                errors.append(gettext("Block %(n)s: “%(kind)s” needs a text.") % {"n": position, "kind": label})
            elif len(text) > MAX_TEXT:
                errors.append(gettext("Block %(n)s: at most %(max)s characters.") % {"n": position, "max": MAX_TEXT})
            item["text"] = str(text_sanitised(text)) if kind == TEXT else text
        if kind in (CATEGORIES, SEGMENTS):
            items = [int(pk) for pk in block.get("items") or ()]
            unknown = [pk for pk in items if pk not in public[kind]]
            if unknown:
                errors.append(gettext("Block %(n)s: only public categories and segments can be shown.") % {"n": position})
            if kind == SEGMENTS and not items:
                errors.append(gettext("Block %(n)s: choose the segments to show.") % {"n": position})
            item["items"] = sorted(set(items))
        cleaned.append(item)
    if errors:
        raise ValidationError(errors)
    return cleaned


def version_problems(blocks: list[dict], language_name: str) -> list[str]:
    """Why a version cannot be published, in words for the editor; empty when it can.

    A contact must always be able to leave the message's channel: the channel's unsubscribe block,
    "unsubscribe from all", or the channels block with a save button. Inputs need a save button.
    """
    kinds = {block["kind"] for block in blocks}
    problems = []
    if not blocks:
        return [gettext("The %(language)s version has no blocks.") % {"language": language_name}]
    if not (UNSUBSCRIBE in kinds or UNSUBSCRIBE_ALL in kinds or (CHANNELS in kinds and SAVE in kinds)):
        problems.append(
            gettext(
                "The %(language)s version gives no way to unsubscribe from the message's channel: add "
                "“Unsubscribe from the message's channel”, “Unsubscribe from all”, or “Channels and "
                "frequency” with a save button."
            ) % {"language": language_name}
        )
    shown = [str(BLOCK_KINDS[kind]) for kind in INPUTS if kind in kinds]
    if shown and SAVE not in kinds:
        problems.append(
            gettext("The %(language)s version shows inputs (%(blocks)s) but no save button.")
            % {"language": language_name, "blocks": ", ".join(shown)}
        )
    return problems
