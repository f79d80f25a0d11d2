"""Who may sign in: the storefront's own accounts for customers and staff.

commercekit takes the application's word for who a shopper or a member of staff is
(``store.as_shopper(customer_id)``, ``store.as_staff(id, permissions)``); proving it
is the application's part. This demo keeps e-mail addresses and password hashes
(scrypt, a random salt each) in a small SQLite file of its own beside the shop's
database. A real shop would use its identity provider instead; the pages ask only
:meth:`Accounts.sign_in` and :meth:`Accounts.get`.

A staff account carries its permissions (see :class:`commercekit.Permission`): each
back-office page asks the store as that member of staff, so the store's door refuses
what their permissions do not allow, whatever the page forgot.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
from collections.abc import Iterable
from typing import Final, Literal

import attrs

from commercekit.domain.access import Permission

Kind = Literal["customer", "staff"]
#: scrypt's cost: 2**14 rounds, 8 blocks, 1 lane (about 16 MiB and 30 ms a hash).
SCRYPT: Final = {"n": 2**14, "r": 8, "p": 1}
MIN_PASSWORD: Final = 10
MAX_PASSWORD: Final = 256
MAX_EMAIL: Final = 254
SCHEMA: Final = """
create table if not exists accounts (
    email text primary key,
    kind text not null,
    subject text not null unique,
    permissions text not null default '',
    salt blob not null,
    hash blob not null
)
"""


class AccountError(ValueError):
    """A sign-up or sign-in refused, in words a form can show next to ``field``."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@attrs.frozen
class Account:
    """One person who may sign in: a customer (``subject`` is their customer id) or
    a member of staff (``subject`` is their staff id) with ``permissions``."""

    email: str
    kind: Kind
    subject: str
    permissions: frozenset[Permission] = frozenset()


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, dklen=32, maxmem=64 * 2**20, **SCRYPT)


def normal_email(email: str) -> str:
    """``email`` as accounts are keyed: trimmed and in lower case."""
    return email.strip().lower()


def _check(email: str, password: str) -> str:
    email = normal_email(email)
    if not (3 <= len(email) <= MAX_EMAIL) or "@" not in email or "\x00" in email:
        raise AccountError("Enter your e-mail address, such as name@example.com.", "email")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD or "\x00" in password:
        raise AccountError(
            f"Choose a password of {MIN_PASSWORD} to {MAX_PASSWORD} characters.", "password"
        )
    return email


class Accounts:
    """Accounts in the SQLite file at ``path`` (``":memory:"`` for a test's)."""

    def __init__(self, path: str = ":memory:") -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute(SCHEMA)
        # Compared against when the e-mail is unknown, so that a miss costs as much
        # as a wrong password and timing tells nothing.
        self._decoy = (secrets.token_bytes(16), secrets.token_bytes(32))

    def create(
        self,
        email: str,
        password: str,
        *,
        kind: Kind,
        subject: str | None = None,
        permissions: Iterable[Permission] = (),
    ) -> Account:
        """A new account; ``subject`` defaults to a fresh random id.

        :raises AccountError: a malformed e-mail or password, or one taken already.
        """
        email = _check(email, password)
        subject = subject or f"{'cus' if kind == 'customer' else 'staff'}_{secrets.token_hex(8)}"
        salt = secrets.token_bytes(16)
        kept = ",".join(sorted(p.value for p in permissions))
        try:
            with self._lock:
                self._db.execute(
                    "insert into accounts values (?, ?, ?, ?, ?, ?)",
                    (email, kind, subject, kept, salt, _hash(password, salt)),
                )
        except sqlite3.IntegrityError:
            raise AccountError("An account with that e-mail address exists.", "email") from None
        return Account(email, kind, subject, frozenset(permissions))

    def sign_in(self, email: str, password: str, *, kind: Kind) -> Account | None:
        """The account of ``kind`` that ``email`` and ``password`` open, else ``None``."""
        email = normal_email(email)
        if len(email) > MAX_EMAIL or len(password) > MAX_PASSWORD:
            return None
        with self._lock:
            row = self._db.execute(
                "select salt, hash from accounts where email = ? and kind = ?", (email, kind)
            ).fetchone()
        salt, kept = row if row else self._decoy
        matched = hmac.compare_digest(_hash(password, salt), kept)
        return self.get_by_email(email) if matched and row else None

    def get_by_email(self, email: str) -> Account | None:
        with self._lock:
            row = self._db.execute(
                "select email, kind, subject, permissions from accounts where email = ?",
                (normal_email(email),),
            ).fetchone()
        return _account(row) if row else None

    def get(self, subject: str, *, kind: Kind) -> Account | None:
        """The account of ``kind`` whose subject is ``subject``, read afresh (so a
        permission taken away counts from the next page on)."""
        with self._lock:
            row = self._db.execute(
                "select email, kind, subject, permissions from accounts"
                " where subject = ? and kind = ?",
                (subject, kind),
            ).fetchone()
        return _account(row) if row else None

    def close(self) -> None:
        self._db.close()


def _account(row: tuple[str, str, str, str]) -> Account:
    email, kind, subject, permissions = row
    assert kind in ("customer", "staff")
    granted = frozenset(Permission(p) for p in permissions.split(",") if p)
    return Account(email, "customer" if kind == "customer" else "staff", subject, granted)
