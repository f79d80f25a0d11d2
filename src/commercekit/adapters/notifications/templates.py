"""The :class:`~commercekit.ports.notifications.Templates` adapter, on Jinja2.

Each template name is three files: ``<name>.subject.txt``, ``<name>.txt`` (plain
text) and ``<name>.html``. The built-in ones live beside this module, in
``templates/``; a merchant's directory overrides any of those files one by one and
may add templates of its own. Merchants write templates, so they run in Jinja2's
sandbox: no attribute starting with ``_``, no changing the data handed in.

Every template gets its data, ``store_name`` and ``locale``, and three filters that
format for that locale with Babel: ``money(currency)`` (minor units to an amount,
``{{ total_units | money(currency) }}``), ``date`` (``format_date``, ``long``) and
``datetime`` (``format_datetime``, ``medium``).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import traceback
from collections.abc import Mapping
from typing import Any, Final, final

import jinja2
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from jinja2.sandbox import ImmutableSandboxedEnvironment

from commercekit.domain.errors import InvalidInput, NotFound, shown
from commercekit.domain.money import format_money, from_minor_units
from commercekit.ports.notifications import Rendered

__all__ = ["DEFAULT_LOCALE", "DOCUMENT_NAMES", "TEMPLATE_NAMES", "JinjaTemplates"]

#: The templates that ship with commercekit, one per notice the core sends.
TEMPLATE_NAMES: Final = (
    "order_confirmation",
    "payment_failed",
    "shipment_dispatched",
    "shipment_delivered",
    "shipment_exception",
    "refund_issued",
    "case_opened",
    "case_resolved",
    "return_requested",
    "return_received",
    "gift_card_purchased",
    "cart_recovery",
    "campaign",
    "back_in_stock",
)

#: The documents a warehouse prints, rendered through the same templates.
DOCUMENT_NAMES: Final = ("pick_list", "packing_slip")

#: The locale a recipient's unknown locale falls back to: a message formatted in
#: English beats a message not sent.
DEFAULT_LOCALE: Final = "en"

_SUFFIXES: Final = (".subject.txt", ".txt", ".html")
# Template names are file names' stems: nothing that could walk out of a directory.
_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,100}")


def _locale(value: object) -> str:
    """``value`` as Babel names it (``de_DE`` for ``de-DE``), or :data:`DEFAULT_LOCALE`."""
    if isinstance(value, str) and value.strip():
        try:
            return str(Locale.parse(value.strip().replace("-", "_")))
        except (UnknownLocaleError, ValueError, TypeError):
            pass
    return DEFAULT_LOCALE


def _context_locale(context: jinja2.runtime.Context) -> str:
    # The locale render() resolved, from the variables it passed in: a template's
    # own ``{% set locale = ... %}`` does not reach the filters.
    value = context.parent.get("locale", DEFAULT_LOCALE)
    return value if isinstance(value, str) else DEFAULT_LOCALE


def _defined(value: object, what: str) -> None:
    """Raise for an undefined value handed to a filter: filters receive one unchecked,
    and the error should name the variable rather than its type."""
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises UndefinedError, naming the variable
        raise TypeError(f"{what}() got an undefined value")


@jinja2.pass_context
def _money(context: jinja2.runtime.Context, units: object, currency: object) -> str:
    _defined(units, "money")
    _defined(currency, "money")
    if isinstance(units, bool) or not isinstance(units, int):
        raise TypeError(f"money() takes whole minor units, not {type(units).__name__}")
    if not isinstance(currency, str):
        raise TypeError(f"money() takes a currency code, not {type(currency).__name__}")
    return format_money(from_minor_units(units, currency), _context_locale(context))


@jinja2.pass_context
def _date(context: jinja2.runtime.Context, value: object) -> str:
    _defined(value, "date")
    if not isinstance(value, dt.date):
        raise TypeError(f"date() takes a date or datetime, not {type(value).__name__}")
    return str(format_date(value, format="long", locale=_context_locale(context)))


@jinja2.pass_context
def _datetime(context: jinja2.runtime.Context, value: object) -> str:
    _defined(value, "datetime")
    if not isinstance(value, dt.datetime):
        raise TypeError(f"datetime() takes a datetime, not {type(value).__name__}")
    return str(format_datetime(value, format="medium", locale=_context_locale(context)))


def _where(error: BaseException, templates: Mapping[str, jinja2.Template]) -> str:
    """`` (line N of NAME)`` for the template line an error was raised on, if known.

    Jinja2 rewrites tracebacks so that a template's frames carry its file name and
    line; the innermost such frame is where the template went wrong.
    """
    if isinstance(error, jinja2.TemplateSyntaxError) and error.lineno:
        return f" (line {error.lineno} of {error.name or error.filename or 'the template'})"
    by_file = {template.filename: name for name, template in templates.items()}
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename in by_file and frame.lineno:
            return f" (line {frame.lineno} of {by_file[frame.filename]})"
    return ""


def _failure(name: str, error: Exception, templates: Mapping[str, jinja2.Template]) -> InvalidInput:
    if isinstance(error, jinja2.TemplateError):
        reason = error.message or type(error).__name__
    else:
        reason = f"{type(error).__name__}: {error}"
    reason = shown(" ".join(str(reason).split()), quote=False, limit=300)
    return InvalidInput(
        f"template {shown(name)} failed to render: {reason}{_where(error, templates)}",
        field="template",
    )


@final
class JinjaTemplates:
    """Renders the built-in templates, or a merchant's, with Jinja2.

    :param directory: a merchant's templates: any file there (such as
        ``order_confirmation.subject.txt``) is used instead of the built-in one of
        that name; the other files of the template still come from the built-ins.
    :param store_name: handed to every template as ``store_name``.
    """

    def __init__(
        self, directory: str | os.PathLike[str] | None = None, *, store_name: str = ""
    ) -> None:
        loaders: list[jinja2.BaseLoader] = []
        if directory is not None:
            loaders.append(jinja2.FileSystemLoader(os.fspath(directory)))
        loaders.append(jinja2.PackageLoader("commercekit.adapters.notifications", "templates"))
        # Immutable: a merchant's template may read the data, not change it.
        self._environment = ImmutableSandboxedEnvironment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=jinja2.select_autoescape(
                enabled_extensions=("html",), default_for_string=False, default=False
            ),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._environment.filters.update(money=_money, date=_date, datetime=_datetime)
        self.store_name = store_name
        """What templates get as ``store_name``."""

    def _templates(self, name: str) -> dict[str, jinja2.Template]:
        """The three files of template ``name``, by suffix.

        :raises NotFound: naming ``template``, if any of them is missing.
        :raises InvalidInput: naming ``template``, if one is not a valid template.
        """
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise NotFound("template", name, field="template")
        found: dict[str, jinja2.Template] = {}
        for suffix in _SUFFIXES:
            try:
                found[name + suffix] = self._environment.get_template(name + suffix)
            except jinja2.TemplateNotFound:
                raise NotFound("template", name, field="template") from None
            except jinja2.TemplateError as error:
                raise _failure(name, error, found) from None
        return found

    def render(self, name: str, data: Mapping[str, Any], *, locale: str) -> Rendered:
        """Render template ``name`` with ``data`` (plus ``store_name`` and ``locale``),
        formatting money and dates for ``locale`` (``en`` if Babel does not know it).

        :raises NotFound: naming ``template``, for a template there is no file of.
        :raises InvalidInput: naming ``template``, for a template that fails to render
            (a variable the data lacks, an unsafe attribute, a syntax error).
        """
        templates = self._templates(name)
        context = {**data, "store_name": self.store_name, "locale": _locale(locale)}
        subject, text, html = templates.values()
        try:
            rendered = Rendered(
                # A header is one line: whatever the template's line breaks.
                subject=" ".join(subject.render(context).split()),
                text=text.render(context).strip() + "\n",
                html=html.render(context).strip() + "\n",
            )
        except Exception as error:  # a merchant's template may fail in any way
            raise _failure(name, error, templates) from None
        return rendered
