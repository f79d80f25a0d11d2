"""The example storefront in a real browser.

These tests serve the storefront with uvicorn on a free port of 127.0.0.1, over a
SQLite file seeded with the demo tea shop, and drive Debian's Chromium
(``/usr/bin/chromium``) through Playwright. Playwright's own browser downloads are
never used: on Debian, install the browser with

    apt-get install --no-install-recommends chromium chromium-driver

Without it the tests are skipped, except in CI (``CI=true``), where a missing browser
is a failure (``.ci/run`` installs it). Every step of a journey leaves a screenshot
in ``$COMMERCEKIT_ARTEFACTS`` (``build/screenshots/`` by default), one folder per
test, so that a failure can be looked at as the shopper saw it.

The store's clock belongs to the test: it stands still while the shopper buys, and
the test moves it to walk a parcel through the sandbox carrier's journey.
"""
