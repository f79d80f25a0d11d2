"""Every error commercekit raises on purpose, in one hierarchy.

Catch a branch to answer a whole kind at once, switch on ``error.code`` (stable), and
read ``error.field`` for the input concerned:

- :class:`InvalidInput`: what was handed in breaks a rule;
- :class:`NotFound`: something looked up by its key does not exist;
- :class:`StateError`: the state of what the request concerns refuses it now;
- :class:`GatewayError`: the payment provider failed or refused;
- :class:`ProviderError`: another outside service (a carrier, a mail server) failed
  or refused;
- :class:`Conflict`: another request got there first (``retryable``) or a key was
  reused;
- :class:`ConfigurationError`: the store is set up wrongly.

Every class below derives from :class:`CommerceError`.
"""

from __future__ import annotations

from commercekit.domain.errors import *  # noqa: F403
from commercekit.domain.errors import __all__ as __all__
