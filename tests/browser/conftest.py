"""What the browser tests stand on: Debian's Chromium, the demo shop served by a real
uvicorn server on a clock the test moves, and visitors (one browser context each,
with their own cookies) whose console is listened to.

Every wait is bounded by :data:`WAIT_MS`, so that a page that never comes fails the
test instead of hanging the run.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pytest

from commercekit import Store
from commercekit.adapters.clock import FixedClock

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page
    from starlette.types import ASGIApp

    from commercekit.examples.storefront.accounts import Accounts

CHROMIUM: Final = Path("/usr/bin/chromium")
SECRET: Final = "a-browser-test-secret-of-32-characters-or-more"
#: The longest any one wait may take: a page, a click, the server starting or stopping.
WAIT_MS: Final = 10_000
WAIT_SECONDS: Final = WAIT_MS / 1000
#: How far apart the sandbox carrier's tracking events are (one step of its journey).
HOURS_PER_STEP: Final = 12
ARTEFACTS_VARIABLE: Final = "COMMERCEKIT_ARTEFACTS"
DEFAULT_ARTEFACTS: Final = Path(__file__).resolve().parents[2] / "build" / "screenshots"


def require_browser() -> None:
    """Skip (the calling module, or test) without Playwright or Debian's Chromium; in
    CI (``CI=true``) fail instead, since a skipped browser test proves nothing."""
    missing = ""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = "Playwright is not installed (pip install -e '.[dev]')"
    if not missing and not CHROMIUM.is_file():
        missing = f"{CHROMIUM} is missing (apt-get install chromium chromium-driver)"
    if not missing:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{missing}: CI must run the browser tests", pytrace=False)
    pytest.skip(missing, allow_module_level=True)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole run (each visitor gets a fresh context)."""
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as driver:
        launched = driver.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, timeout=3 * WAIT_MS
        )
        try:
            yield launched
        finally:
            launched.close()


def shop_config(base_url: str) -> dict[str, Any]:
    """The demo shop's configuration, with the sandbox carrier to send parcels by
    (its steps set here, since the test walks the journey step by step)."""
    from commercekit.examples.storefront import demo

    settings = demo.config(base_url)
    sandbox = {"plugin": "sandbox", "options": {"hours_per_step": HOURS_PER_STEP}}
    settings["carriers"] = {**settings.get("carriers", {}), "sandbox": sandbox}
    return settings


class LiveShop:
    """The demo shop, served at :attr:`base_url`; the test owns its :attr:`clock`
    and may make :attr:`accounts` (staff, say)."""

    def __init__(
        self,
        store: Store,
        clock: FixedClock,
        base_url: str,
        accounts: Accounts,
    ) -> None:
        self.store = store
        self.clock = clock
        self.base_url = base_url
        self.accounts = accounts


@contextlib.contextmanager
def serving(app: ASGIApp, listening: socket.socket) -> Iterator[None]:
    """``app`` served by uvicorn on ``listening`` in a background thread, until the
    block ends; then the server is told to stop and waited for (boundedly)."""
    import uvicorn

    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listening]}, name="storefront", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + WAIT_SECONDS
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("the storefront's server did not start", pytrace=False)
            time.sleep(0.02)
        yield
    finally:
        server.should_exit = True
        thread.join(WAIT_SECONDS)
        if thread.is_alive():
            server.force_exit = True
            thread.join(WAIT_SECONDS)
        assert not thread.is_alive(), "the storefront's server did not stop"


@pytest.fixture
def live_shop(tmp_path: Path) -> Iterator[LiveShop]:
    """The demo shop over a fresh SQLite file, served on a free port of 127.0.0.1."""
    require_browser()
    from commercekit.examples.storefront import create_app
    from commercekit.examples.storefront.accounts import Accounts
    from commercekit.examples.storefront.demo import CATEGORIES, seed

    # The port is taken by binding, and the bound socket handed to uvicorn: no other
    # process can take it between choosing and serving.
    with socket.create_server(("127.0.0.1", 0)) as listening:
        base_url = f"http://127.0.0.1:{listening.getsockname()[1]}"
        clock = FixedClock(datetime.now(UTC).replace(minute=0, second=0, microsecond=0))
        with Store.open(
            f"sqlite:///{tmp_path / 'shop.db'}", config=shop_config(base_url), clock=clock
        ) as store:
            seed(store)
            accounts = Accounts()
            app = create_app(store, secret_key=SECRET, navigation=CATEGORIES, accounts=accounts)
            try:
                with serving(app, listening):
                    yield LiveShop(store, clock, base_url, accounts)
            finally:
                accounts.close()


class Artefacts:
    """Where a test's screenshots go: one folder per test, numbered in the order
    they were taken, so the folder reads as the test ran."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._numbers = itertools.count(1)

    def screenshot(self, page: Page, label: str) -> Path:
        path = self.folder / f"{next(self._numbers):02d}-{label}.png"
        page.screenshot(path=str(path), full_page=True, timeout=WAIT_MS)
        return path


@pytest.fixture
def artefacts(request: pytest.FixtureRequest) -> Artefacts:
    root = Path(os.environ.get(ARTEFACTS_VARIABLE) or DEFAULT_ARTEFACTS)
    folder = root / re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return Artefacts(folder)


class Visitor:
    """One person at the shop: a page in a browser context of their own (their own
    cookies, so their own session), and every error its console reports."""

    def __init__(self, name: str, context: BrowserContext, artefacts: Artefacts) -> None:
        self.name = name
        self.page = context.new_page()
        self.page.set_default_timeout(WAIT_MS)
        self.page.set_default_navigation_timeout(WAIT_MS)
        self.console_errors: list[str] = []
        self._artefacts = artefacts
        self.page.on("console", self._heard)
        self.page.on("pageerror", lambda error: self._note(str(error)))

    def _heard(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        source = str(message.location.get("url", ""))
        self._note(f"{message.text} ({source})" if source else message.text)

    def _note(self, text: str) -> None:
        self.console_errors.append(f"{self.page.url}: {text}")

    def open(self, path: str) -> None:
        """Go to ``path`` of the shop, as if typed into the address bar."""
        response = self.page.goto(path)
        assert response is not None, path
        assert response.ok, f"{path} answered {response.status}"

    def snap(self, label: str) -> Path:
        """A screenshot of the whole page, labelled with whose it is."""
        return self._artefacts.screenshot(self.page, f"{self.name}-{label}")


@pytest.fixture
def visitors(
    browser: Browser, live_shop: LiveShop, artefacts: Artefacts
) -> Iterator[Callable[[str], Visitor]]:
    """Makes visitors of the live shop; their contexts close when the test ends,
    before the server stops."""
    contexts: list[BrowserContext] = []

    def visitor(name: str) -> Visitor:
        context = browser.new_context(
            base_url=live_shop.base_url, viewport={"width": 1024, "height": 768}
        )
        contexts.append(context)
        return Visitor(name, context, artefacts)

    yield visitor
    for context in contexts:
        context.close()
