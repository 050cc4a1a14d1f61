"""Per-contact rendering of a message version: the tokens of SPEC §3 and the visible unsubscribe.

Templates are split at their tokens once per batch; rendering one contact is then a join, which
is what lets delivery reach thousands of emails per second.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from html.parser import HTMLParser
from dataclasses import dataclass
from functools import cached_property

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from contacts.models import PreferenceSettings
from contacts.services.fields import field_value_text

from messaging.models import Message, MessageVersion
from messaging.public.tokens import preferences_url, send_token, unsubscribe_url

TOKENS = ("{first_name}", "{unsubscribe_url}", "{preferences_url}", "{unsubscribe_text}")
# A custom field: {field:company}, or with a fallback for contacts without a value: {field:company|there}.
# The fallback is plain text without braces or a line break; the key is a ContactField key.
FIELD_TOKEN = r"\{field:([a-z][a-z0-9_]{0,49})(?:\|([^{}\r\n]*))?\}"
_FIELD_TOKEN_RE = re.compile(FIELD_TOKEN)
# Anything that looks like a field token, well formed or not: the editor names the bad ones.
FIELD_TOKEN_LIKE = re.compile(r"\{field:[^{}]*\}")
# Split points of a body: the fixed tokens, and every well-formed field token as a whole.
_TOKEN_RE = re.compile("(" + "|".join(re.escape(token) for token in TOKENS)
                       + r"|\{field:[a-z][a-z0-9_]{0,49}(?:\|[^{}\r\n]*)?\})")


def field_tokens(text: str) -> list[tuple[str, str | None]]:
    """The (key, fallback) of each custom field token in ``text``; fallback ``None`` when there is none."""
    return [(key, fallback) for key, fallback in
            ((match[1], match[2]) for match in _FIELD_TOKEN_RE.finditer(text or ""))]


def field_token_errors(text: str, known_keys) -> list[str]:
    """Messages for the field tokens of ``text`` that cannot render: malformed, or naming no defined field."""
    errors = [_("%(token)s is not a valid field token: write {field:key} or {field:key|fallback}.") % {"token": token}
              for token in malformed_field_tokens(text)]
    unknown = sorted({key for key, _fallback in field_tokens(text)} - set(known_keys))
    errors += [_("{field:%(key)s}: there is no contact field with the key “%(key)s”.") % {"key": key}
               for key in unknown]
    return errors


def malformed_field_tokens(text: str) -> list[str]:
    """``{field:…}`` tokens that are not well formed (a key that is not a slug, a brace in the fallback)."""
    return [token for token in FIELD_TOKEN_LIKE.findall(text or "") if not _FIELD_TOKEN_RE.fullmatch(token)]
_SMS_OPT_OUT_RE = re.compile(r"\bSTOP\b|\{unsubscribe_url\}|\{unsubscribe_text\}", re.IGNORECASE)
# The tokens that show the unsubscribe link: the URL itself, and the text, which always holds the link.
UNSUBSCRIBE_LINK_TOKENS = ("{unsubscribe_url}", "{unsubscribe_text}")


@dataclass(frozen=True)
class Delivery:
    """One send to hand to a backend: the contact's details as they are at delivery time."""

    send_id: int
    contact_id: int
    first_name: str
    last_name: str
    address: str
    locale: str = "en"
    # The contact's custom field values (``Contact.fields``); read only when the message uses a field token.
    fields: Mapping[str, object] | None = None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Template:
    """A body split at its tokens: literal, token, literal, token, …"""

    def __init__(self, text: str):
        self.parts = _TOKEN_RE.split(text)
        self.field_tokens = {token: _FIELD_TOKEN_RE.fullmatch(token).groups()
                             for token in self.parts[1::2] if token.startswith("{field:")}

    def render(self, values: dict[str, str]) -> str:
        parts = self.parts[:]
        parts[1::2] = [values[token] for token in parts[1::2]]
        return "".join(parts)

    def uses(self, *tokens: str) -> bool:
        return any(token in self.parts[1::2] for token in tokens)


class _UnsubscribeLinks(HTMLParser):
    """Walks an HTML body: how many unsubscribe links it shows, and whether one sits inside another link."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links, self.nested, self._anchors = 0, False, []

    def handle_starttag(self, tag, attrs):
        if tag != "a":
            return
        href = dict(attrs).get("href") or ""
        self._anchors.append("{unsubscribe_url}" in href)
        if "{unsubscribe_url}" in href:
            self.links += 1

    def handle_endtag(self, tag):
        if tag == "a" and self._anchors:
            self._anchors.pop()

    def handle_data(self, data):
        texts = data.count("{unsubscribe_text}")
        urls = data.count("{unsubscribe_url}")
        in_link = bool(self._anchors)
        if texts and in_link:
            self.nested = True  # {unsubscribe_text} renders its own <a>: an <a> inside an <a>
        # A URL shown as the text of its own unsubscribe link is that link, not a second one.
        self.links += texts + (0 if in_link and self._anchors[-1] else urls)


@dataclass(frozen=True)
class UnsubscribeLinkCheck:
    """How often a rendered body shows the unsubscribe link (it should be once), and nesting in HTML."""

    links: int
    nested: bool = False


def unsubscribe_link_check(body: str, *, html_part: bool, marketing: bool) -> UnsubscribeLinkCheck:
    """The rule the renderer follows, read from a body before it is sent: ``{unsubscribe_url}`` and
    ``{unsubscribe_text}`` each show the link; a marketing body with neither gets the footer."""
    if not Template(body).uses(*UNSUBSCRIBE_LINK_TOKENS):
        return UnsubscribeLinkCheck(links=1 if marketing else 0)
    if not html_part:
        parts = Template(body).parts[1::2]
        return UnsubscribeLinkCheck(links=sum(parts.count(token) for token in UNSUBSCRIBE_LINK_TOKENS))
    parser = _UnsubscribeLinks()
    parser.feed(body)
    parser.close()
    return UnsubscribeLinkCheck(links=parser.links, nested=parser.nested)


def default_unsubscribe_text() -> str:
    return _("To stop receiving these messages, unsubscribe here: {unsubscribe_url}")


def sms_opt_out_line() -> str:
    return _("Reply STOP to opt out.")


def version_texts(version: MessageVersion, locale: str) -> tuple[str, str, str]:
    """Subject, text body and HTML body of ``version`` for a contact whose locale is ``locale``.

    The version's texts in the contact's language when its text body there is filled (the subject
    falling back to the default one; no HTML part when that language has none, rather than one in
    another language); else the default-language texts.
    """
    language = (locale or "").split("-")[0].lower()
    if language and language != settings.LANGUAGE_CODE.split("-")[0]:
        text_body = getattr(version, f"text_body_{language}", "")
        if text_body:
            subject = getattr(version, f"subject_{language}", "") or version.subject
            return subject, text_body, getattr(version, f"html_body_{language}", "")
    return version.subject, version.text_body, version.html_body


@dataclass(frozen=True)
class _LocaleTexts:
    """What one locale's emails and SMS are rendered from, built once per batch."""

    subject: Template
    text: Template
    html: Template | None
    unsubscribe_text: Template
    unsubscribe_html: Template
    opt_out: str
    raw_text: str


class MessageRenderer:
    """Renders one version of one message for many contacts; per-locale texts are built once."""

    def __init__(self, message: Message, version: MessageVersion, settings: PreferenceSettings | None = None):
        self.message, self.version = message, version
        self.marketing = not message.transactional
        self.configured_unsubscribe = message.page_switches(settings)["unsubscribe_text"]
        self._per_locale: dict[str, _LocaleTexts] = {}

    def _text_template(self, text: str) -> str:
        if self.marketing and not Template(text).uses(*UNSUBSCRIBE_LINK_TOKENS):
            # Every marketing message carries a visible way out (SPEC §4).
            text = text.rstrip() + "\n\n{unsubscribe_text}\n"
        return text

    def _html_template(self, html_body: str) -> str | None:
        if not html_body:
            return None
        if self.marketing and not Template(html_body).uses(*UNSUBSCRIBE_LINK_TOKENS):
            footer = '<p style="font-size:12px;color:#555">{unsubscribe_text}</p>'
            if "</body>" in html_body:
                html_body = html_body.replace("</body>", footer + "</body>", 1)
            else:
                html_body = html_body + footer
        return html_body

    @cached_property
    def text_template(self) -> str:
        return self._text_template(self.version.text_body)

    @cached_property
    def html_template(self) -> str | None:
        return self._html_template(self.version.html_body)

    def _locale(self, locale: str) -> _LocaleTexts:
        cached = self._per_locale.get(locale)
        if cached is None:
            with translation.override(locale):
                unsubscribe = self.configured_unsubscribe or default_unsubscribe_text()
                opt_out = sms_opt_out_line()
            # The unsubscribe text may itself hold {unsubscribe_url}; in HTML it becomes a link.
            plain = unsubscribe.replace("{unsubscribe_text}", "")
            if "{unsubscribe_url}" not in plain:
                plain = plain.rstrip() + " {unsubscribe_url}"
            text_unsub = Template(plain)
            escaped = html.escape(unsubscribe.replace("{unsubscribe_text}", ""))
            if "{unsubscribe_url}" in escaped:
                escaped = escaped.replace("{unsubscribe_url}", '<a href="{unsubscribe_url}">{unsubscribe_url}</a>')
            else:
                escaped += ' <a href="{unsubscribe_url}">{unsubscribe_url}</a>'
            subject, text_body, html_body = version_texts(self.version, locale)
            html_template = self._html_template(html_body)
            cached = _LocaleTexts(
                subject=Template(subject),
                text=Template(self._text_template(text_body)),
                html=Template(html_template) if html_template is not None else None,
                unsubscribe_text=text_unsub,
                unsubscribe_html=Template(escaped),
                opt_out=opt_out,
                raw_text=text_body,
            )
            self._per_locale[locale] = cached
        return cached

    @cached_property
    def _field_tokens(self) -> dict[str, tuple[str, str | None]]:
        version = self.version
        texts = [version.subject, self.text_template, self.html_template or "", self.configured_unsubscribe]
        for code, _name in settings.LANGUAGES:  # every language's texts: a batch mixes locales
            texts += [getattr(version, f"{name}_{code}", "") for name in ("subject", "text_body", "html_body")]
        found: dict[str, tuple[str, str | None]] = {}
        for text in texts:
            found.update(Template(text or "").field_tokens)
        return found

    @cached_property
    def field_keys(self) -> frozenset[str]:
        """The custom field keys the version's tokens use: the deliveries then carry ``fields``."""
        return frozenset(key for key, _fallback in self._field_tokens.values())

    def values(self, delivery: Delivery) -> dict[str, str]:
        token = send_token(delivery.send_id)
        values = {
            "{first_name}": delivery.first_name,
            "{unsubscribe_url}": unsubscribe_url(token),
            "{preferences_url}": preferences_url(token),
            "{unsubscribe_text}": "",
        }
        stored = delivery.fields or {}
        for text, (key, fallback) in self._field_tokens.items():
            values[text] = field_value_text(stored.get(key)) or (fallback or "")
        return values

    def email(self, delivery: Delivery) -> tuple[str, str, str | None, dict[str, str]]:
        """Subject, text body, HTML body (or None) and the token values used, in the contact's language."""
        texts = self._locale(delivery.locale)
        values = self.values(delivery)
        text_values = {**values, "{unsubscribe_text}": texts.unsubscribe_text.render(values)}
        body = texts.text.render(text_values)
        html_body = None
        if texts.html is not None:
            escaped = {key: html.escape(value) for key, value in values.items()}
            escaped["{unsubscribe_text}"] = texts.unsubscribe_html.render(escaped)
            html_body = texts.html.render(escaped)
        return texts.subject.render(text_values), body, html_body, values

    def sms(self, delivery: Delivery) -> str:
        texts = self._locale(delivery.locale)
        values = self.values(delivery)
        values["{unsubscribe_text}"] = texts.unsubscribe_text.render(values)
        body = Template(texts.raw_text).render(values)
        if self.marketing and not _SMS_OPT_OUT_RE.search(texts.raw_text):
            body = f"{body.rstrip()}\n{texts.opt_out}"
        return body
