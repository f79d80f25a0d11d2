"""The secrets a store signs its messages' links with, and how a link is spelled.

A store signs with one secret and accepts that one and any it is retiring, so that
links already sent keep working through a rotation. A store opened without a secret
(a development store in memory) is given a random one for as long as it is open;
any other store without one refuses to make or read a link, with a
:class:`~commercekit.domain.errors.ConfigurationError` that says what to set.
"""

from __future__ import annotations

from typing import Final

import attrs

from commercekit.domain.errors import ConfigurationError

__all__ = ["TOKEN", "LinkSigning", "link_to"]

#: Where a link's template puts the token.
TOKEN: Final = "{token}"


@attrs.frozen(kw_only=True)
class LinkSigning:
    """The secrets of a store's signed links."""

    secret: str | None = attrs.field(default=None, repr=False)
    """The one links are signed with now; ``None`` when none is configured."""
    previous: tuple[str, ...] = attrs.field(default=(), repr=False)
    """Secrets being retired: links they signed are still accepted."""

    def current(self) -> str:
        """The secret to sign with.

        :raises ConfigurationError: naming ``link_signing_secret``, when there is none.
        """
        if self.secret is None:
            raise ConfigurationError(
                "set link_signing_secret (at least 32 random characters) to sign the "
                "links in a store's messages",
                field="link_signing_secret",
            )
        return self.secret

    def accepted(self) -> tuple[str, ...]:
        """The secrets a link may be signed with.

        :raises ConfigurationError: naming ``link_signing_secret``, when there is none.
        """
        return (self.current(), *self.previous)


def link_to(template: str, token: str) -> str:
    """The link ``template`` (a URL with ``{token}`` in it) makes for ``token``."""
    return template.replace(TOKEN, token)
