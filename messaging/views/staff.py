"""Staff pages: messages, preview, sending, the live report, the deferred queue, the outbox."""

from __future__ import annotations

from itertools import groupby

from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.db import DataError, transaction
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from contacts.models import Channel, Contact
from contacts.rules import CATEGORY_NOT_SUBSCRIBED, CATEGORY_UNSUBSCRIBED
from contacts.query import ListQueryForm, page_number, record_id, record_ids

from contacts import selectors as contacts_selectors
from contacts.views.staff import staff_page

from .. import selectors, services
from ..charts import COLOURS, outcomes_over_time_svg, unsubscribes_by_day_svg
from ..engine.decision import message_plan, preview_decision
from ..forms import MessageForm, PreviewForm, ScheduleForm, TestSendForm, VersionFormSet
from ..models import SWITCHES, Dispatch, Message, Outcome, OutboxMessage, ScheduledDispatch, Send, reason_label
from ..delivery.rendering import Delivery, MessageRenderer

PAGE_SIZE = 50
# A public link acts as the contact (history says so): only staff who may change preferences get working ones.
LIVE_LINKS_PERMISSION = "contacts.change_contact"


@staff_page(view="messaging.view_message")
def message_list(request: HttpRequest) -> HttpResponse:
    archived = request.GET.get("archived") == "1"
    messages = Message.objects.filter(archived_at__isnull=not archived)
    page = Paginator(messages.select_related("category").prefetch_related("segments"), PAGE_SIZE).get_page(
        page_number(request.GET.get("page"))
    )
    return render(request, "messaging/message_list.html", {"page": page, "archived": archived})


def _message_form(request: HttpRequest, message: Message | None) -> HttpResponse:
    form = MessageForm(request.POST or None, instance=message)
    versions = VersionFormSet(request.POST or None, instance=message or Message())
    warnings: list[str] = []
    if request.method == "POST" and form.is_valid() and versions.is_valid():
        values, version_values = form.message_values(), versions.versions_values()
        warnings = versions.unsubscribe_link_warnings(marketing=not values["transactional"])
        if warnings and not request.POST.get("save_despite_warnings"):
            return render(request, "messaging/message_form.html",
                          {"form": form, "versions": versions, "message": message, "warnings": warnings})
        if message is None:
            message = services.message_create(acting_user=request.user, values=values, versions=version_values)
        else:
            message = services.message_update(
                message=message, acting_user=request.user, values=values, versions=version_values
            )
        flash.success(request, _("Message saved."))
        return redirect(message)
    return render(request, "messaging/message_form.html", {"form": form, "versions": versions, "message": message})


# The form pages need the right to use them even to open: a viewer never sees a form that answers 403.
@staff_page(view="messaging.add_message", change="messaging.add_message")
def message_create(request: HttpRequest) -> HttpResponse:
    return _message_form(request, None)


@staff_page(view="messaging.change_message", change="messaging.change_message")
def message_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _message_form(request, get_object_or_404(Message, pk=pk))


@staff_page(view="messaging.view_message")
def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(Message.objects.select_related("category", "preference_page"), pk=pk)
    costs, reasons = selectors.message_leaving_costs(message=message)
    context = {
        "message": message,
        "versions": message.ordered_versions(),
        "switches": [
            (Message._meta.get_field(name).verbose_name, value)
            for name, value in message.page_switches().items()
            if name in SWITCHES
        ],
        "dispatches": message.dispatches.all()[:20],
        "costs": costs,
        "unsubscribes_chart": unsubscribes_by_day_svg(selectors.message_unsubscribes_by_day(message=message)),
        "reasons": reasons,
        "preview_form": PreviewForm(),
        "staff_history": contacts_selectors.staff_changes(subject_types=("message",), subject_id=message.pk),
        "schedules": message.schedules.order_by("-run_at")[:20],
        "schedule_form": ScheduleForm(initial={"time_zone": timezone.get_current_timezone_name()}),
    }
    return render(request, "messaging/message_detail.html", context)


@staff_page(view="messaging.delete_message", change="messaging.delete_message")
def message_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, then delete; a message with sends cannot be deleted and is offered for archiving."""
    message = get_object_or_404(Message, pk=pk)
    if request.method == "POST":
        try:
            services.message_delete(message=message, acting_user=request.user)
        except services.MessageHasSends as refused:
            flash.error(request, str(refused))
            return redirect("messaging:message_delete", pk=message.pk)
        flash.success(request, _("Message %(name)s deleted.") % {"name": message.name})
        return redirect("messaging:message_list")
    sends = message.sends.count()
    return render(request, "messaging/message_delete.html", {"message": message, "sends": sends})


@require_POST
@staff_page(view="messaging.view_message", change="messaging.delete_message")
def message_archive(request: HttpRequest, pk: int) -> HttpResponse:
    message = services.message_archive(message=get_object_or_404(Message, pk=pk), acting_user=request.user)
    flash.success(request, _("Message %(name)s archived: it stays readable, its links keep working.") % {"name": message.name})
    return redirect(message)


def _find_contact(query: str) -> Contact | None:
    query = query.strip()
    if query.isdigit():
        number = record_id(query)  # "²" is a digit to isdigit(), not to int() or the database
        return Contact.objects.filter(pk=number).first() if number else None
    return Contact.objects.filter(email__iexact=query).first()


def _links_inert(text: str, inert: dict[str, str]) -> str:
    for url, label in inert.items():
        text = text.replace(url, str(label))
    return text


@staff_page(view="messaging.view_message")
def message_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """What one contact would get now: the decision (the worker's), each channel's facts, the text."""
    message = get_object_or_404(Message.objects.select_related("category"), pk=pk)
    form = PreviewForm(request.GET or None)
    context = {"message": message, "form": form}
    if form.is_valid():
        contact = _find_contact(form.cleaned_data["contact"])
        if contact is None:
            form.add_error("contact", _("No contact with this id or email."))
        else:
            now = timezone.now()
            plan = message_plan(message, deliver_until=message.deadline(now))
            try:
                with transaction.atomic():
                    preview = preview_decision(plan, contact, now)
            except (DataError, LookupError, ValueError) as error:
                # The worker records this contact as failed (a bad stored record); say so, as it would.
                form.add_error("contact", _("The decision for this contact failed: %(error)s") % {"error": error})
                template = "messaging/message_preview.html#result" if request.htmx else "messaging/message_preview.html"
                return render(request, template, context)
            channel_id = preview.decision.channel_id or (plan.channels[0].id if plan.channels else None)
            rendered = None
            if channel_id:
                version = message.versions.select_related("channel").get(channel_id=channel_id)
                channel = version.channel
                renderer = MessageRenderer(message, version)
                delivery = Delivery(send_id=0, contact_id=contact.pk, first_name=contact.first_name,
                                    last_name=contact.last_name, address=contact.address_for(channel), locale=contact.locale,
                                    fields=contact.fields)
                # The preview's send has no token: its links would open "link not valid". Show them inert.
                inert = {
                    renderer.values(delivery)["{unsubscribe_url}"]: _("[unsubscribe link]"),
                    renderer.values(delivery)["{preferences_url}"]: _("[preferences link]"),
                }
                if channel.address_field == Channel.AddressField.EMAIL:
                    subject, text, html_body, _values = renderer.email(delivery)
                    rendered = {"channel": channel, "subject": subject, "text": _links_inert(text, inert)}
                else:
                    rendered = {"channel": channel, "text": _links_inert(renderer.sms(delivery), inert)}
            context.update(contact=contact, preview=preview, rendered=rendered,
                           outcome_label=Outcome(preview.decision.outcome).label,
                           reason_label=reason_label(preview.decision.reason),
                           channel_names=dict(Channel.objects.values_list("id", "name")))
    template = "messaging/message_preview.html#result" if request.htmx else "messaging/message_preview.html"
    return render(request, template, context)


@staff_page(view="messaging.add_dispatch", change="messaging.add_dispatch")
def message_send(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm (with the recipient estimate), then dispatch."""
    message = get_object_or_404(Message, pk=pk)
    errors = services.dispatch_errors(message)
    if request.method == "POST" and not errors:
        dispatch = services.dispatch_create(message=message, user=request.user)
        flash.success(request, _("Sending started."))
        return redirect(dispatch)
    estimate = selectors.message_recipient_count(message=message)
    context = {"message": message, "estimate": estimate, "errors": errors}
    if not errors:
        context["decision"] = _estimate_rows(selectors.message_estimate(message=message))
    return render(request, "messaging/message_send.html", context)


def _estimate_rows(estimate: selectors.Estimate) -> dict:
    """The estimate as the send page lists it: would send per channel, deferred and skipped per reason."""
    channels = {channel.pk: channel.name for channel in Channel.objects.all()}
    not_sent = (Outcome.DEFERRED, Outcome.EXPIRED, Outcome.SKIPPED_CATEGORY, Outcome.SKIPPED_DNC, Outcome.SKIPPED_NO_ADDRESS)
    return {
        "estimate": estimate,
        "send": sorted((channels.get(pk, pk), n) for pk, n in estimate.by_channel().items()),
        "would_send": estimate.outcome_total(Outcome.SENDING),
        "other": [
            (Outcome(outcome).label, _reason_label(reason), n)
            for (outcome, reason), n in sorted(estimate.by_reason(*not_sent).items())
        ],
    }


def _reason_label(reason: str) -> str:
    words = {
        CATEGORY_UNSUBSCRIBED: _("Unsubscribed from the category"),
        CATEGORY_NOT_SUBSCRIBED: _("Not subscribed to the opt-in category"),
    }
    return Send.Reason(reason).label if reason in Send.Reason.values else words.get(reason, reason)


def _report_context(dispatch: Dispatch) -> dict:
    progress = selectors.dispatch_progress(dispatch=dispatch)
    by_channel = selectors.dispatch_results_by_channel(dispatch=dispatch)
    shown = [outcome for outcome in Outcome.values if any(result.counts.get(outcome) for result in by_channel)]
    return {
        "dispatch": dispatch,
        "progress": progress,
        "rows": [(Outcome(outcome).label, outcome, count, COLOURS[outcome]) for outcome, count in progress.counts.items()],
        "channel_outcomes": [(outcome, Outcome(outcome).label) for outcome in shown],
        "by_channel": [
            (result.channel, [result.counts.get(outcome, 0) for outcome in shown], result.total) for result in by_channel
        ],
    }


@staff_page(view="messaging.view_dispatch")
def dispatch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    dispatch = get_object_or_404(Dispatch.objects.select_related("message"), pk=pk)
    context = _report_context(dispatch)
    step, timeline = selectors.dispatch_timeline(dispatch=dispatch)
    context["chart"] = outcomes_over_time_svg(timeline, step=step)
    context["costs"] = selectors.dispatch_leaving_costs(dispatch=dispatch)
    deferred = Paginator(selectors.deferred_sends(dispatch=dispatch), PAGE_SIZE)
    context["deferred"] = deferred.get_page(page_number(request.GET.get("page")))
    if request.htmx and request.GET.get("part") == "report":
        # Polled while the dispatch runs: progress, chart and deferred queue refresh together.
        return render(request, "messaging/dispatch_detail.html#report", context)
    return render(request, "messaging/dispatch_detail.html", context)


# The dashboard's columns: (sort key, heading, group); a click sorts descending, a second click ascending.
def _cost_columns(channels: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    by_source, by_channel = _("Unsubscribes by source"), _("Unsubscribes by channel")
    return [
        ("name", _("Message"), ""), ("sends", _("Sends"), ""), ("unsubscribes", _("Unsubscribes"), ""),
        ("public_page", _("Page"), by_source), ("one_click", _("One-click"), by_source),
        ("mailto", _("Mailbox"), by_source), ("sms_stop", _("SMS STOP"), by_source),
        *((f"channel_{slug}", name, by_channel) for slug, name in channels),
        ("rate", _("Unsubscribe rate"), ""), ("opt_downs", _("Opt-downs"), ""), ("complaints", _("Complaints"), ""),
        ("bounces", _("Bounces"), ""),
    ]


@staff_page(view="messaging.view_message")
def message_costs(request: HttpRequest) -> HttpResponse:
    """Every sent message with what it cost, in total, by source and by channel, sorted server-side by
    ``?sort=`` (``-`` first: descending); above it, every message together per channel and source."""
    sort = request.GET.get("sort") or "-unsubscribes"
    try:
        dashboard = selectors.messages_leaving_costs(sort=sort)
    except KeyError:
        flash.error(request, _("Unknown sort order: the list is sorted by unsubscribes."))
        sort = "-unsubscribes"
        dashboard = selectors.messages_leaving_costs(sort=sort)
    page = Paginator(dashboard.rows, PAGE_SIZE).get_page(page_number(request.GET.get("page")))
    names = dict(Channel.objects.values_list("slug", "name"))
    channels = [(cost.channel, _(names.get(cost.channel, cost.channel))) for cost in dashboard.channels]
    columns = [
        (key, label, group, (f"-{key}" if sort != f"-{key}" else key), sort.removeprefix("-") == key,
         sort.startswith("-"))
        for key, label, group in _cost_columns(channels)
    ]
    groups = [(group, len(list(members))) for group, members in groupby(column[2] for column in columns)]
    rows = [
        {"row": row, "sources": [row.cost.unsubscribes[source] for source in selectors.LEAVING_SOURCES],
         "channels": [row.channel_unsubscribes(slug) for slug, _name in channels]}
        for row in page
    ]
    context = {"page": page, "rows": rows, "sort": sort, "columns": columns, "groups": groups,
               "costs": dashboard.channels, "reasons": selectors.leaving_reasons_counted(), "section": "costs"}
    return render(request, "messaging/message_costs.html", context)


@staff_page(view="messaging.view_dispatch", change="messaging.change_send")
def deferred_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    dispatch = get_object_or_404(Dispatch, pk=pk)
    if request.POST.get("scope") == "all":
        if request.POST.get("confirm") != "yes":
            flash.error(request, _("Tick the confirmation to cancel every deferred send."))
            return redirect(dispatch)
        ids = None
    else:
        ids = record_ids(request.POST.getlist("send"))
        if not ids:
            flash.error(request, _("Select the deferred sends to cancel."))
            return redirect(dispatch)
    count = services.deferred_cancel(dispatch=dispatch, send_ids=ids, acting_user=request.user)
    flash.success(request, ngettext("%(count)s deferred send cancelled.", "%(count)s deferred sends cancelled.", count)
                  % {"count": count})
    return redirect(dispatch)


@staff_page(view="messaging.view_outboxmessage")
def outbox(request: HttpRequest) -> HttpResponse:
    form = ListQueryForm(request.GET)
    query = form.search_text()
    page = Paginator(selectors.outbox_messages(to=query), PAGE_SIZE).get_page(form.cleaned_data["page"])
    live_links = request.user.has_perm(LIVE_LINKS_PERMISSION)
    if not live_links:
        page.object_list = [selectors.outbox_message_links_hidden(item) for item in page.object_list]
    return render(request, "messaging/outbox.html", {"page": page, "q": query, "form": form, "live_links": live_links,
                                                     "channel_names": dict(Channel.objects.values_list("slug", "name"))})


@staff_page(view="messaging.view_send")
def deferred_queue(request: HttpRequest) -> HttpResponse:
    sends = Paginator(selectors.deferred_sends().select_related("dispatch"), PAGE_SIZE)
    page = sends.get_page(page_number(request.GET.get("page")))
    return render(request, "messaging/deferred_queue.html", {"page": page})




# --- Scheduled dispatches ---------------------------------------------------------------------------


def _schedule_form(request: HttpRequest, message: Message, schedule: ScheduledDispatch | None) -> HttpResponse:
    initial = {"time_zone": timezone.get_current_timezone_name()}
    if schedule is not None:
        local = schedule.run_at_local
        initial = {"date": local.date(), "time": local.time().replace(second=0, microsecond=0), "time_zone": schedule.time_zone}
    form = ScheduleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = {"local": form.local(), "time_zone": form.cleaned_data["time_zone"], "acting_user": request.user}
        try:
            if schedule is None:
                schedule = services.schedule_create(message=message, **values)
            else:
                schedule = services.schedule_update(schedule=schedule, **values)
        except services.ScheduleInvalid as refused:
            form.add_error(None, str(refused))
        else:
            flash.success(request, _("Sending scheduled for %(moment)s.") % {"moment": schedule})
            return redirect(message)
    context = {"message": message, "form": form, "schedule": schedule}
    return render(request, "messaging/schedule_form.html", context)


@staff_page(view="messaging.add_dispatch", change="messaging.add_dispatch")
def schedule_create(request: HttpRequest, pk: int) -> HttpResponse:
    return _schedule_form(request, get_object_or_404(Message, pk=pk), None)


@staff_page(view="messaging.add_dispatch", change="messaging.add_dispatch")
def schedule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = get_object_or_404(ScheduledDispatch.objects.select_related("message"), pk=pk)
    if schedule.status != ScheduledDispatch.Status.SCHEDULED:
        flash.error(request, _("This schedule has already started or was cancelled."))
        return redirect(schedule.message)
    return _schedule_form(request, schedule.message, schedule)


@require_POST
@staff_page(view="messaging.view_message", change="messaging.add_dispatch")
def schedule_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = get_object_or_404(ScheduledDispatch.objects.select_related("message"), pk=pk)
    try:
        services.schedule_cancel(schedule=schedule, acting_user=request.user)
    except services.ScheduleInvalid as refused:
        flash.error(request, str(refused))
    else:
        flash.success(request, _("Scheduled sending cancelled."))
    return redirect(schedule.message)


# --- Test sends ---------------------------------------------------------------------------------------


@staff_page(view="messaging.add_dispatch", change="messaging.add_dispatch")
def message_test_send(request: HttpRequest, pk: int) -> HttpResponse:
    """Send the message's versions to a few staff addresses, marked as a test; say what went where."""
    message = get_object_or_404(Message, pk=pk)
    form = TestSendForm(request.POST or None, initial={"recipients": request.user.email})
    report = None
    if request.method == "POST" and form.is_valid():
        try:
            report = services.message_test_send(
                message=message, recipients=form.cleaned_data["recipients"], acting_user=request.user
            )
        except services.TestSendRefused as refused:
            for error in refused.errors:
                form.add_error("recipients", error)
    return render(request, "messaging/message_test_send.html", {"message": message, "form": form, "report": report})


# The HTML part of an email is shown in a sandboxed frame (no scripts, no same origin), served with
# its own policy: nothing may load but inline images, styles stay inline, only this site may frame it.
OUTBOX_FRAME_POLICY = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'self'; sandbox"
)
OUTBOX_HEADERS = ("From", "To", "Date", "Subject", "Message-ID", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post")


OUTBOX_FRAME_SALT = "messaging.outbox-html"
OUTBOX_FRAME_MAX_AGE = 600  # seconds: the frame loads with its page


def outbox_frame_token(*, item_id: int, live_links: bool) -> str:
    """What the frame's URL carries instead of a session: the frame is a sandbox, and browsers may
    send it no cookie. Signed (salted), short-lived, issued only by the detail page."""
    return signing.dumps({"id": item_id, "live": live_links}, salt=OUTBOX_FRAME_SALT, compress=True)


def _outbox_item(request: HttpRequest, pk: int):
    item = get_object_or_404(selectors.outbox_messages(), pk=pk)
    if not request.user.has_perm(LIVE_LINKS_PERMISSION):
        item = selectors.outbox_message_links_hidden(item)
    return item


@staff_page(view="messaging.view_outboxmessage")
def outbox_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One delivered email or SMS: every header, the text part, and the HTML part in a sandboxed frame."""
    item = _outbox_item(request, pk)
    headers = item.headers or {}
    listed = [(name, headers[name]) for name in OUTBOX_HEADERS if name in headers]
    others = sorted((name, value) for name, value in headers.items() if name not in OUTBOX_HEADERS)
    live_links = request.user.has_perm(LIVE_LINKS_PERMISSION)
    context = {
        "item": item, "headers": listed + others, "live_links": live_links,
        "frame_token": outbox_frame_token(item_id=item.pk, live_links=live_links),
        "channel_name": Channel.objects.filter(slug=item.channel_slug).values_list("name", flat=True).first()
        or item.channel_slug,
    }
    return render(request, "messaging/outbox_detail.html", context)


@xframe_options_sameorigin
@require_GET
def outbox_html(request: HttpRequest, token: str) -> HttpResponse:
    """The HTML part as the recipient's mail program gets it; only ever shown in the sandboxed frame
    of the detail page, which signed the URL (a bad or old signature: 404)."""
    try:
        granted = signing.loads(token, salt=OUTBOX_FRAME_SALT, max_age=OUTBOX_FRAME_MAX_AGE)
        item = OutboxMessage.objects.get(pk=int(granted["id"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError, OutboxMessage.DoesNotExist):
        raise Http404 from None
    if not granted.get("live"):
        item = selectors.outbox_message_links_hidden(item)
    response = HttpResponse(item.html_body or "", content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = OUTBOX_FRAME_POLICY
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    return response
