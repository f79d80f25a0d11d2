"""The header's search box in a real browser: suggestions as the guest types, chosen
with the keyboard, and the plain search form when nothing is chosen."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.browser.conftest import Visitor, require_browser

require_browser()

from playwright.sync_api import expect  # noqa: E402


def test_the_search_box_suggests_as_the_guest_types_and_the_arrows_choose(
    visitors: Callable[[str], Visitor],
) -> None:
    guest = visitors("suggestions")
    page = guest.page
    guest.open("/")
    box = page.locator("#header-q")
    expect(box).to_have_attribute("role", "combobox")
    expect(box).to_have_attribute("aria-expanded", "false")

    box.press_sequentially("sen", delay=40)
    options = page.locator("#header-suggestions [role=option]")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("Sencha Kyoto")
    expect(box).to_have_attribute("aria-expanded", "true")
    guest.snap("suggested")

    page.keyboard.press("ArrowDown")
    expect(options.first).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", "suggestion-0")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/products/sencha$"))
    guest.snap("chosen")

    # Escape closes the list; Enter with nothing chosen is the plain search form.
    box = page.locator("#header-q")
    box.press_sequentially("tea", delay=40)
    expect(page.locator("#header-suggestions [role=option]").first).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#header-suggestions")).to_be_hidden()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q=tea$"))
    guest.snap("searched")
    assert guest.console_errors == []
