"""Times and vocabulary as people read them: Jinja filters every web page uses.

- `when`: a moment as "30 Nov 2026, 10:12" (in the reader's language, the app's time zone);
- `relative`: the same moment as "in 4 weeks" or "3 hours ago";
- `words`: a DPV purpose or lawful basis in plain words (ledger.vocabulary);
- `country`: an ISO 3166 code as the country's name ("SE" -> "Sweden").

Moments arrive as the records write them (ISO 8601 UTC, "2026-11-30T09:12:00Z") or as unix
seconds from the chain. The language is the best match of the request's Accept-Language
among LOCALES (British English when nothing matches: day before month, 24-hour clock); the
time zone is the app's TIME_ZONE setting (Europe/Stockholm unless configured). Outside a
request (the command line) they read the same, in British English.
"""

from __future__ import annotations

from datetime import UTC, datetime

from babel import Locale
from babel.dates import format_date, format_time, format_timedelta, get_datetime_format, get_timezone
from flask import Flask, current_app, has_app_context, has_request_context, request

from ledger.vocabulary import label

LOCALES = ["en_GB", "en", "sv"]
DEFAULT_TIME_ZONE = "Europe/Stockholm"
RELATIVE_THRESHOLD = 1.5  # "in 4 weeks", not "in 1 month", for 29 days


def moment(value: str | int | float | datetime | None) -> datetime | None:
    """A record's time (ISO 8601) or a chain timestamp as an aware datetime; None if absent
    or unreadable."""
    if value is None or value == "" or value == 0:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def reader_locale() -> str:
    if has_request_context():
        return request.accept_languages.best_match(LOCALES) or LOCALES[0]
    return LOCALES[0]


def when(value: str | int | float | datetime | None) -> str:
    """The moment as a date and time of day, e.g. "30 Nov 2026, 10:12"; "" if none."""
    at = moment(value)
    if at is None:
        return ""
    locale = reader_locale()
    zone = get_timezone(current_app.config.get("TIME_ZONE", DEFAULT_TIME_ZONE) if has_app_context() else DEFAULT_TIME_ZONE)
    day = format_date(at.astimezone(zone), "medium", locale=locale)
    return get_datetime_format("medium", locale=locale).replace("{1}", day).replace("{0}", format_time(at, "short", tzinfo=zone, locale=locale))


def relative(value: str | int | float | datetime | None, now: datetime | None = None) -> str:
    """The moment from now, e.g. "in 4 weeks" or "3 hours ago"; "" if none."""
    at = moment(value)
    if at is None:
        return ""
    return format_timedelta(at - (now or datetime.now(UTC)), add_direction=True, threshold=RELATIVE_THRESHOLD, locale=reader_locale())


def country(code: str) -> str:
    """The country an ISO 3166 alpha-2 code names, in the reader's language (the code if unknown)."""
    return str(Locale.parse(reader_locale()).territories.get(code, code))


def install(app: Flask) -> None:
    """Make `when`, `relative`, `words` and `country` available to the app's templates."""
    app.jinja_env.filters.update(when=when, relative=relative, words=label, country=country)
