"""What the storefront's page tests share: the session secret, an address that
checks out, and reading a page as a browser without JavaScript would (its CSRF
token, its fields, labels and images)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Final

from starlette.testclient import TestClient

from commercekit.examples.storefront.demo import ADDRESS

__all__ = ["ADDRESS", "SECRET", "Page", "assert_accessible", "csrf", "submit"]

SECRET: Final = "a-test-secret-of-at-least-32-characters"


class Page(HTMLParser):
    """The tags of a page that the checks look at: its visible fields (inputs,
    selects, text areas), the ids labels point at, its images and forms."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.fields: list[dict[str, str]] = []
        self.labels: set[str] = set()
        self.images: list[dict[str, str]] = []
        self.forms: list[dict[str, str]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag in ("input", "select", "textarea") and found.get("type") != "hidden":
            self.fields.append(found)
        elif tag == "label" and "for" in found:
            self.labels.add(found["for"])
        elif tag == "img":
            self.images.append(found)
        elif tag == "form":
            self.forms.append(found)


def csrf(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


def submit(client: TestClient, page: str, url: str, data: dict[str, str]) -> str:
    """POST a form the way ``page``, which shows it, would; the page it leads to."""
    token = csrf(client.get(page).text)
    response = client.post(url, data={**data, "csrf_token": token})
    assert response.status_code in (200, 404, 422), response.text
    return response.text


def assert_accessible(client: TestClient, url: str, status: int = 200) -> str:
    """Open ``url`` and check that every field is labelled, every image has its alt
    text and every form that POSTs carries the CSRF token; the page's HTML."""
    response = client.get(url)
    assert response.status_code == status, url
    html = Page(response.text)
    for field in html.fields:
        assert field.get("id") in html.labels, (url, field)
    for image in html.images:
        assert image.get("alt"), (url, image)
    for form in html.forms:
        if form.get("method") == "post":
            assert f'value="{csrf(response.text)}"' in response.text, url
    return response.text
