"""The category tree: a forest that refuses any change making a cycle."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import attrs

from commercekit.domain._validators import text
from commercekit.domain.catalog.products import check_canonical_url
from commercekit.domain.catalog.slugs import slugify
from commercekit.domain.errors import CategoryCycle, InvalidInput, NotFound, shown

__all__ = ["Category", "CategoryTree"]


@attrs.define(kw_only=True, eq=False)
class Category:
    """A node of the category tree."""

    id: str = attrs.field(validator=text(64))
    name: str = attrs.field(validator=text(200))
    slug: str = ""
    parent_id: str | None = None
    seo_title: str = attrs.field(default="", validator=text(200, blank=True))
    """The title of its page for search engines; ``""``: its name."""
    seo_description: str = attrs.field(default="", validator=text(500, blank=True))
    canonical_url: str = attrs.field(default="", validator=check_canonical_url)
    """The URL search engines should take as its page, where it is not the one the
    storefront builds; ``""``: that one."""

    def __attrs_post_init__(self) -> None:
        self.slug = slugify(self.slug, field="slug") if self.slug else slugify(self.name)


class CategoryTree:
    """Categories as a forest; it refuses any change that would make a cycle."""

    def __init__(self, categories: Iterable[Category] = ()) -> None:
        self._nodes: dict[str, Category] = {}
        for category in categories:
            self.add(category)

    def __contains__(self, category_id: object) -> bool:
        return category_id in self._nodes

    def __iter__(self) -> Iterator[Category]:
        return iter(self._nodes.values())

    def get(self, category_id: str) -> Category:
        """The category with this id.

        :raises NotFound: if there is none.
        """
        try:
            return self._nodes[category_id]
        except KeyError:
            raise NotFound("category", category_id, field="category_id") from None

    def add(self, category: Category) -> None:
        """Add a category under its ``parent_id`` (which must already exist)."""
        if category.id in self._nodes:
            raise InvalidInput(f"category {shown(category.id)} already exists", field="id")
        if category.parent_id is not None:
            self.get(category.parent_id)
        self._nodes[category.id] = category

    def move(self, category_id: str, new_parent_id: str | None) -> None:
        """Re-parent a category, with its subtree.

        :raises CategoryCycle: if the new parent is the category or one of its
            descendants.
        """
        category = self.get(category_id)
        if new_parent_id is not None:
            self.get(new_parent_id)
            if new_parent_id == category_id or new_parent_id in self.descendants(category_id):
                raise CategoryCycle(
                    f"cannot move {shown(category_id)} under its own subtree", field="parent_id"
                )
        category.parent_id = new_parent_id

    def ancestors(self, category_id: str) -> list[str]:
        """Ids from the parent up to the root."""
        found: list[str] = []
        parent = self.get(category_id).parent_id
        while parent is not None:
            found.append(parent)
            parent = self._nodes[parent].parent_id
        return found

    def descendants(self, category_id: str) -> set[str]:
        """Ids of every category below this one."""
        self.get(category_id)
        children: dict[str | None, list[str]] = {}
        for node in self._nodes.values():
            children.setdefault(node.parent_id, []).append(node.id)
        found: set[str] = set()
        stack = list(children.get(category_id, ()))
        while stack:
            current = stack.pop()
            found.add(current)
            stack.extend(children.get(current, ()))
        return found
