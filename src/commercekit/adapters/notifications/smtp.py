"""A notifier that hands messages to a mail server over SMTP (the standard library's
:mod:`smtplib`).

``security`` says how the connection is protected: ``none`` (plain SMTP, for a relay
on the same host or network), ``starttls`` (plain, then upgraded before anything is
sent; refused if the server does not offer it) or ``ssl`` (TLS from the first byte).
Certificates are checked against the system's trusted authorities. Credentials are
never sent over an unprotected connection: with a ``username``, ``security`` must be
``starttls`` or ``ssl``.
"""

from __future__ import annotations

import base64
import smtplib
import ssl
from collections.abc import Mapping
from contextlib import suppress
from typing import Annotated, Final, Literal, final, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StrictStr,
    StringConstraints,
    field_validator,
    model_validator,
)

from commercekit.adapters.notifications.files import checked_address, email_message
from commercekit.domain.errors import InvalidInput, NotificationFailed, shown
from commercekit.hookspecs import NotifierFactory, Register, hookimpl
from commercekit.ports.notifications import Message

__all__ = [
    "DEFAULT_PORTS",
    "DEFAULT_TIMEOUT",
    "Security",
    "SmtpNotifier",
    "SmtpNotifierOptions",
    "register_notifiers",
]

Security = Literal["none", "starttls", "ssl"]

#: The port each kind of connection is usually served on.
DEFAULT_PORTS: Final[Mapping[Security, int]] = {"none": 25, "starttls": 587, "ssl": 465}
#: Seconds a connection, and each exchange with the server, may take.
DEFAULT_TIMEOUT: Final = 10.0
#: The longest timeout an option may set: a notifier waits no longer than this on a
#: server that stopped answering.
MAX_TIMEOUT: Final = 300.0


def _credentials_problem(
    security: str, username: str | None, password: str | None
) -> tuple[str, str] | None:
    """``(field, reason)`` if the credentials do not go together, else ``None``."""
    if username is not None and password is None:
        return "password", "a password is needed with a username"
    if password is not None and username is None:
        return "username", "a username is needed with a password"
    if username is not None and security == "none":
        return "security", "credentials are sent only over starttls or ssl, not over none"
    return None


@final
class SmtpNotifier:
    """Sends each message to a mail server.

    :param sender: the ``From`` address.
    :param username: logs in with it and ``password`` (over ``starttls`` or ``ssl``).
    :param security: ``none``, ``starttls`` or ``ssl`` (see the module docstring).
    :param timeout: seconds connecting, and each exchange with the server, may take.
    :raises InvalidInput: naming the argument, for a sender that is not one address,
        an unknown security mode, or credentials that do not go together.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        security: Security = "none",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if security not in get_args(Security):
            raise InvalidInput(
                f"expected none, starttls or ssl, got {shown(security)}", field="security"
            )
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise InvalidInput(f"expected a port from 1 to 65535, got {shown(port)}", field="port")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise InvalidInput(
                f"expected a positive number of seconds, got {shown(timeout)}", field="timeout"
            )
        problem = _credentials_problem(security, username, password)
        if problem is not None:
            raise InvalidInput(problem[1], field=problem[0])
        self.host = host
        self.port = port
        self.sender = checked_address(sender, field="sender")
        self.username = username
        self._password = password
        self.security: Security = security
        self.timeout = timeout
        self._context: ssl.SSLContext | None = None

    def __repr__(self) -> str:
        return f"SmtpNotifier({self.host!r}, {self.port!r}, security={self.security!r})"

    def _tls(self) -> ssl.SSLContext:
        if self._context is None:
            self._context = ssl.create_default_context()
        return self._context

    def _connect(self) -> smtplib.SMTP:
        """A connection, protected as ``security`` says and logged in if need be."""
        client: smtplib.SMTP
        if self.security == "ssl":
            client = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._tls()
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.security == "starttls":
                client.starttls(context=self._tls())
            if self.username is not None and self._password is not None:
                client.login(self.username, self._password)
        except BaseException:
            client.close()
            raise
        return client

    def send(self, message: Message) -> None:
        """Hand ``message`` to the mail server.

        :raises InvalidInput: naming ``to``, for a recipient that is not one address.
        :raises NotificationFailed: when the server could not be reached, refused the
            connection's protection, the login or the message, or did not answer in
            time. The message never repeats the password.
        """
        email = email_message(message, sender=self.sender)
        try:
            client = self._connect()
            try:
                client.send_message(email)
            finally:
                # The server has the message once it accepted it: a failing goodbye
                # must not make it sent again.
                with suppress(smtplib.SMTPException, OSError):
                    client.quit()
                client.close()
        except (smtplib.SMTPException, OSError) as error:
            raise NotificationFailed(
                f"the mail server {self.host}:{self.port} did not take the "
                f"{shown(message.template)} message: {self._reason(error)}"
            ) from None

    def _reason(self, error: smtplib.SMTPException | OSError) -> str:
        """What went wrong, on one line, without the password in any form the
        conversation may have carried it in."""
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            text = "the server refused the recipient"
        elif isinstance(error, smtplib.SMTPResponseException):
            reply = error.smtp_error
            if isinstance(reply, bytes):
                reply = reply.decode("utf-8", "replace")
            text = f"{error.smtp_code} {reply}"
        else:
            text = str(error) or type(error).__name__
        text = f"{type(error).__name__}: {' '.join(text.split())}"
        if self._password:
            plain = f"\0{self.username}\0{self._password}".encode()
            for secret in (
                self._password,
                base64.b64encode(self._password.encode()).decode(),
                base64.b64encode(plain).decode(),
            ):
                text = text.replace(secret, "***")
        return shown(text, quote=False, limit=200)


class SmtpNotifierOptions(BaseModel):
    """The options of the ``smtp`` notifier (``password`` among the secrets)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    host: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=253)]
    """The mail server's name or address."""
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    """25, 587 or 465 for ``none``, ``starttls`` or ``ssl`` if not given."""
    sender: StrictStr
    """The ``From`` address."""
    username: StrictStr | None = None
    password: SecretStr | None = None
    security: Security = "none"
    timeout: Annotated[float, Field(gt=0, le=MAX_TIMEOUT)] = DEFAULT_TIMEOUT
    """Seconds connecting, and each exchange with the server, may take."""

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if any(character.isspace() or not character.isprintable() for character in value):
            raise ValueError("a host name has no spaces or control characters")
        return value

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        try:
            return checked_address(value, field="sender")
        except InvalidInput as error:
            raise ValueError(error.message) from None

    @model_validator(mode="after")
    def _credentials(self) -> SmtpNotifierOptions:
        password = None if self.password is None else self.password.get_secret_value()
        problem = _credentials_problem(self.security, self.username, password)
        if problem is not None:
            raise ValueError(f"{problem[0]}: {problem[1]}")
        return self


def _smtp_notifier(options: SmtpNotifierOptions) -> SmtpNotifier:
    return SmtpNotifier(
        options.host,
        options.port or DEFAULT_PORTS[options.security],
        sender=options.sender,
        username=options.username,
        password=None if options.password is None else options.password.get_secret_value(),
        security=options.security,
        timeout=options.timeout,
    )


@hookimpl
def register_notifiers(register: Register[NotifierFactory]) -> None:
    """Offer the ``smtp`` notifier (options: ``host`` and ``sender``, required,
    ``port``, ``username``, ``security``, ``timeout``; secret: ``password``), checked
    by the store: it refuses an option that is missing, unknown or not as documented
    naming ``notifier.options.<option>`` (``notifier.secrets.password``)."""
    register("smtp", _smtp_notifier, options=SmtpNotifierOptions)
