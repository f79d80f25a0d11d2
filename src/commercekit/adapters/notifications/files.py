"""Notifiers that keep messages local: ``.eml`` files in a folder, or the console.

A folder of ``.eml`` files is the notifier for development and for tests: every
message a store sends lands there as a complete email (any mail client opens it), one
file per message key, so a message sent twice is written once. The console notifier
prints a short block per message instead.

This module also builds the email itself (:func:`email_message`), the same one the
SMTP notifier hands to a mail server, and checks a notifier's options
(:func:`checked_options`) into :class:`~commercekit.errors.InvalidInput` naming the
option that is wrong.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import sys
import tempfile
from collections.abc import Collection, Mapping
from contextlib import suppress
from email.errors import NonASCIILocalPartDefect
from email.headerregistry import Address, AddressHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import SMTPUTF8, default
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Final, TextIO, TypeVar, final

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from commercekit.domain.errors import InvalidInput, NotificationFailed, shown
from commercekit.hookspecs import NotifierFactory, Register, hookimpl
from commercekit.ports.notifications import Message

__all__ = [
    "DEFAULT_SENDER",
    "ConsoleNotifier",
    "ConsoleNotifierOptions",
    "FileNotifier",
    "FileNotifierOptions",
    "checked_address",
    "checked_options",
    "email_message",
    "file_name",
    "register_notifiers",
]

#: Who messages are from unless a notifier's ``sender`` option says otherwise.
DEFAULT_SENDER: Final = "shop@localhost"

_HEADERS: Final = HeaderRegistry()
# How much of a key a file's name keeps; the hash after it tells keys apart.
_SLUG_CHARACTERS: Final = 80
_UNSAFE: Final = re.compile(r"[^a-z0-9._-]+")


# --- the email -------------------------------------------------------------------------


def _address(value: str) -> Address | None:
    """The one address ``value`` holds, or ``None``."""
    if not value or "\r" in value or "\n" in value:
        return None
    try:
        header = _HEADERS("to", value)
    except Exception:  # the email package's parser fails on some malformed input
        return None
    # A local part in any script is an address (RFC 6531): sent with SMTPUTF8.
    defects = [d for d in header.defects if not isinstance(d, NonASCIILocalPartDefect)]
    if defects or not isinstance(header, AddressHeader) or len(header.addresses) != 1:
        return None
    address = header.addresses[0]
    return address if address.username and address.domain else None


def checked_address(value: object, *, field: str) -> str:
    """``value`` if it is one email address (``shop@example.com`` or
    ``Shop <shop@example.com>``), stripped.

    :raises InvalidInput: naming ``field``, for anything else (a list of addresses,
        a line break that would start a header of its own).
    """
    if not isinstance(value, str):
        raise InvalidInput(f"expected an email address, got {type(value).__name__}", field=field)
    if _address(value.strip()) is None:
        raise InvalidInput(f"{shown(value)} is not one email address", field=field)
    return value.strip()


def _message_id(key: str, sender: str) -> str:
    """The same Message-ID for the same message from the same sender, so that a
    message sent again is recognised as the same one by the mail systems that look."""
    digest = hashlib.sha256(f"{sender}\x1f{key}".encode("utf-8", "surrogatepass")).hexdigest()[:32]
    address = _address(sender)
    domain = address.domain if address is not None and address.domain.isascii() else ""
    return f"<{digest}@{domain or 'localhost'}>"


def email_message(message: Message, *, sender: str, now: dt.datetime | None = None) -> EmailMessage:
    """``message`` as an RFC 5322 email from ``sender``: plain text, with the HTML as
    an alternative, and a Message-ID derived from the message's key.

    :param now: the ``Date`` header (the current time if not given).
    :raises InvalidInput: naming ``to`` or ``sender``, for anything but one address.
    """
    sender = checked_address(sender, field="sender")
    recipient = checked_address(message.to, field="to")
    international = not (sender.isascii() and recipient.isascii())
    email = EmailMessage(policy=SMTPUTF8 if international else default)
    email["From"] = sender
    email["To"] = recipient
    # Templates give a subject on one line; a hand-built message may not.
    email["Subject"] = " ".join(message.subject.split())
    email["Date"] = format_datetime(now or dt.datetime.now(dt.UTC))
    email["Message-ID"] = _message_id(message.key, sender)
    # Quoted-printable keeps every line 7-bit and short, which any mail server relays
    # (8-bit bodies need a server that offers 8BITMIME).
    email.set_content(message.text, cte="quoted-printable")
    email.add_alternative(message.html, subtype="html", cte="quoted-printable")
    return email


# --- options ---------------------------------------------------------------------------

Options = TypeVar("Options", bound=BaseModel)

#: Pydantic errors whose location is a key the configuration made up.
_UNKNOWN_KEYS: Final = frozenset({"extra_forbidden", "invalid_key"})
#: An unknown key is named when it reads as an option's name (``hots``); anything else
#: (a key of a megabyte, of spaces) is not repeated as a field's name.
_LONGEST_KEY_NAMED: Final = 64


def checked_options(
    model: type[Options], options: Mapping[str, Any], *, secrets: Collection[str] = ()
) -> Options:
    """A notifier's options, checked with ``model``.

    :param secrets: the options a store keeps among its secrets: an error names them
        ``notifier.secrets.<name>`` (and never repeats their value), the others
        ``notifier.options.<name>``.
    :raises InvalidInput: naming the first option that is wrong.
    """
    if not isinstance(options, Mapping):
        raise InvalidInput(
            f"expected a mapping of options, got {type(options).__name__}",
            field="notifier.options",
        )
    try:
        return model.model_validate(dict(options))
    except ValidationError as error:
        raise _refusal(error.errors()[0], secrets) from None


def _refusal(first: Any, secrets: Collection[str]) -> InvalidInput:
    """Pydantic's first error as :class:`InvalidInput` naming the option; pydantic's
    messages never repeat the value, so a secret's stays out of it."""
    location = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] in _UNKNOWN_KEYS:
        message = f"{message}: {shown(location)}"
        if not (location.isidentifier() and len(location) <= _LONGEST_KEY_NAMED):
            location = ""  # a key that cannot be an option's name is not named as one
    elif not location and ": " in message:
        # A check across options names its option at the front of the message.
        location, _, message = message.partition(": ")
    if not location:
        return InvalidInput(message, field="notifier.options")
    group = "secrets" if location in secrets else "options"
    return InvalidInput(message, field=f"notifier.{group}.{location}")


def _sender(value: str) -> str:
    try:
        return checked_address(value, field="sender")
    except InvalidInput as error:
        raise ValueError(error.message) from None


class FileNotifierOptions(BaseModel):
    """The options of the ``file`` notifier."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    directory: Path
    """Where the ``.eml`` files go; created if missing."""
    sender: str = DEFAULT_SENDER
    """The ``From`` address."""

    @field_validator("directory", mode="before")
    @classmethod
    def _directory(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            raise ValueError("a directory is needed")
        return value

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        return _sender(value)


class ConsoleNotifierOptions(BaseModel):
    """The ``console`` notifier takes no options."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- the notifiers ---------------------------------------------------------------------


def file_name(key: str) -> str:
    """The file a message of ``key`` is written to: a readable slug of the key, then
    a hash of the whole key (so two keys never share a file, even where the slug is
    cut or the file system ignores case), then ``.eml``."""
    slug = _UNSAFE.sub("-", key.lower()).strip("-.")[:_SLUG_CHARACTERS].rstrip("-.")
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{slug}-{digest}.eml" if slug else f"{digest}.eml"


@final
class FileNotifier:
    """Writes each message as an ``.eml`` file into a folder, once per message key.

    :param directory: created on the first message if missing.
    :param sender: the ``From`` address.
    :raises InvalidInput: naming ``sender``, if it is not one email address.
    """

    def __init__(self, directory: str | os.PathLike[str], *, sender: str = DEFAULT_SENDER) -> None:
        self.directory = Path(directory)
        self.sender = checked_address(sender, field="sender")

    def path_for(self, key: str) -> Path:
        """The file the message of ``key`` is (or would be) written to."""
        return self.directory / file_name(key)

    def send(self, message: Message) -> None:
        """Write ``message``, unless a message of its key was written already.

        The file appears whole or not at all: it is written beside its place under a
        hidden temporary name, then renamed into place.

        :raises InvalidInput: naming ``to``, for a recipient that is not one address.
        :raises NotificationFailed: when the file could not be written.
        """
        content = bytes(email_message(message, sender=self.sender))
        path = self.path_for(message.key)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            if path.exists():
                return
            descriptor, temporary = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
            try:
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(content)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temporary, path)
            except BaseException:
                with suppress(OSError):
                    os.unlink(temporary)
                raise
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise NotificationFailed(
                f"could not write message {shown(message.key)} into "
                f"{shown(str(self.directory), quote=False)}: {reason}"
            ) from None


@final
class ConsoleNotifier:
    """Prints each message (recipient, subject, plain text) to a stream.

    :param stream: ``sys.stdout`` (as it is when a message is sent) if not given.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def send(self, message: Message) -> None:
        """Print ``message``.

        :raises NotificationFailed: when the stream could not be written.
        """
        stream = self._stream or sys.stdout
        block = (
            f"To: {message.to}\nSubject: {message.subject}\n\n{message.text.rstrip()}\n{'-' * 72}\n"
        )
        try:
            stream.write(block)
            stream.flush()
        except (OSError, ValueError) as error:  # ValueError: the stream was closed
            raise NotificationFailed(f"could not print the message: {error}") from None


# --- the plugin ------------------------------------------------------------------------


def _file_notifier(options: FileNotifierOptions) -> FileNotifier:
    return FileNotifier(options.directory, sender=options.sender)


def _console_notifier(options: ConsoleNotifierOptions) -> ConsoleNotifier:
    return ConsoleNotifier()


@hookimpl
def register_notifiers(register: Register[NotifierFactory]) -> None:
    """Offer the ``file`` notifier (options: ``directory``, required, and ``sender``)
    and the ``console`` notifier (no options), checked by the store: it refuses an
    option that is missing, unknown or not as documented naming
    ``notifier.options.<option>``."""
    register("file", _file_notifier, options=FileNotifierOptions)
    register("console", _console_notifier, options=ConsoleNotifierOptions)
