"""Test-wide settings.

Hypothesis runs with no deadline everywhere: the machines are shared and noisy, and
a property is about correctness, not speed (speed is measured in ``bench/``). In CI
(``CI=true``) it also tries more examples.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", deadline=None)
settings.register_profile(
    "ci",
    deadline=None,
    max_examples=300,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")
