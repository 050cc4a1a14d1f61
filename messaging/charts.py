"""Charts drawn on the server as inline SVG: no script, no CDN, readable without JavaScript."""

from __future__ import annotations

import datetime

from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from .models import Outcome

COLOURS = {
    Outcome.SENDING: "#6ea8fe", Outcome.SENT: "#198754", Outcome.DEFERRED: "#fd7e14",
    Outcome.SKIPPED_CATEGORY: "#6f42c1", Outcome.SKIPPED_DNC: "#dc3545", Outcome.SKIPPED_NO_ADDRESS: "#adb5bd",
    Outcome.EXPIRED: "#795548", Outcome.FAILED: "#000000", Outcome.CANCELLED: "#6c757d",
}


# Unsubscribes by the link or event used (the keys of ``selectors.LEAVING_SOURCES``).
SOURCE_COLOURS = {"public_page": "#0d6efd", "one_click": "#dc3545", "mailto": "#fd7e14", "sms_stop": "#6f42c1"}


def source_labels() -> dict[str, str]:
    return {"public_page": _("Page"), "one_click": _("One-click"), "mailto": _("Mailbox"), "sms_stop": _("SMS STOP")}


def outcomes_over_time_svg(
    timeline: list[tuple[datetime.datetime, dict[str, int]]], *, step: int = 60, width=720, height=220
) -> SafeString:
    """Stacked bars: sends per outcome for each time step (seconds) of the dispatch, in the current time zone."""
    series = [(outcome, Outcome(outcome).label, COLOURS[outcome]) for outcome in Outcome.values]
    return stacked_bars_svg(timeline, series=series, step=step, label=_("Sends per outcome over time"),
                            empty=_("No sends yet."), width=width, height=height)


def unsubscribes_by_day_svg(timeline: list[tuple[datetime.datetime, dict[str, int]]]) -> SafeString:
    """Stacked bars: a message's unsubscribes per day, by the link or event used."""
    labels = source_labels()
    series = [(source, labels[source], colour) for source, colour in SOURCE_COLOURS.items()]
    return stacked_bars_svg(timeline, series=series, step=86400, label=_("Unsubscribes per day"),
                            empty=_("No unsubscribes."))


def stacked_bars_svg(
    timeline: list[tuple[datetime.datetime, dict[str, int]]], *, series: list[tuple[str, str, str]], step: int,
    label: str, empty: str, width=720, height=220,
) -> SafeString:
    """Stacked bars, one per time step (seconds) in the current time zone; ``series`` lists
    (key, label, colour) from the bottom of a bar up."""
    timeline = [(timezone.localtime(at), counts) for at, counts in timeline]
    clock = "%H:%M:%S" if step < 60 else "%H:%M" if step < 86400 else "%d %b"
    if not timeline:
        return format_html('<p class="text-body-secondary">{}</p>', empty)
    top = max(sum(counts.values()) for _, counts in timeline) or 1
    left, bottom = 48, 28
    plot_w, plot_h = width - left - 8, height - bottom - 8
    bar_w = max(2, plot_w / len(timeline) - 2)
    rects = []
    for index, (minute, counts) in enumerate(timeline):
        x, y = left + index * (plot_w / len(timeline)), 8 + plot_h
        for key, name, colour in series:
            count = counts.get(key, 0)
            if not count:
                continue
            h = plot_h * count / top
            y -= h
            rects.append((f"{x:.1f}", f"{y:.1f}", f"{bar_w:.1f}", f"{h:.1f}", colour,
                          f"{minute.strftime(clock)} {name}: {count}"))
    bars = format_html_join(
        "", '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>', rects
    )
    first, last = timeline[0][0], timeline[-1][0]
    return format_html(
        '<svg role="img" aria-label="{}" viewBox="0 0 {} {}" width="100%" xmlns="http://www.w3.org/2000/svg">'
        '<line x1="{}" y1="8" x2="{}" y2="{}" stroke="#999"/><line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999"/>'
        '<text x="{}" y="16" font-size="11" text-anchor="end">{}</text>'
        '<text x="{}" y="{}" font-size="11">{}</text><text x="{}" y="{}" font-size="11" text-anchor="end">{}</text>'
        "{}</svg>",
        label, width, height,
        left, left, 8 + plot_h, left, 8 + plot_h, width - 8, 8 + plot_h,
        left - 4, top,
        left, height - 8, first.strftime(clock), width - 8, height - 8, last.strftime(clock),
        bars,
    )
