"""The catalogue: products, their variants, categories and publication state."""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, Final

import attrs

from commercekit.domain._validators import aware_or_none, require_aware, text, whole_number
from commercekit.domain.errors import (
    AlreadyExists,
    CategoryCycle,
    DuplicateSku,
    InvalidInput,
    NotFound,
    UnknownSku,
    shown,
)
from commercekit.domain.window import Window

__all__ = [
    "Catalog",
    "Category",
    "CategoryTree",
    "Dimensions",
    "ItemFacts",
    "Product",
    "PublicationState",
    "Variant",
    "aware_or_none",
    "check_product_refs",
    "require_aware",
    "require_new",
    "slugify",
]

SLUG_MAX_LENGTH: Final = 80
_ALWAYS: Final = Window()
_SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}")
_LATIN_BASE = re.compile(r"[A-Za-z]")


def slugify(name: str, *, max_length: int = SLUG_MAX_LENGTH, field: str = "name") -> str:
    """A lower-case slug, safe in a URL path, from a name in any script.

    Accents are dropped from Latin letters ("Crème brûlée" gives ``creme-brulee``);
    letters of other scripts are kept as they are, with their vowel signs and other
    marks ("Зелёный чай" gives ``зелёный-чай``, "हिन्दी" stays whole, "抹茶" gives
    ``抹茶``), since browsers show them and percent-encode them on the wire. Any run of
    characters that are neither letters, digits nor marks becomes a single hyphen.

    :raises InvalidInput: naming ``field``, if the name is not a string or has no
        letter or digit at all.
    """
    if not isinstance(name, str):
        raise InvalidInput(f"expected a string, got {type(name).__name__}", field=field)
    decomposed = unicodedata.normalize("NFKD", name)
    kept: list[str] = []
    for char in decomposed:
        # A combining mark after a Latin letter is an accent; elsewhere (Devanagari
        # vowel signs, Cyrillic breves) it is part of the letter and must stay.
        if unicodedata.combining(char) and kept and _LATIN_BASE.fullmatch(kept[-1]):
            continue
        kept.append(char)
    text = unicodedata.normalize("NFC", "".join(kept)).casefold()
    chars: list[str] = []
    for char in text:
        if char.isalnum():
            chars.append(char)
        elif unicodedata.category(char).startswith("M"):
            # A mark belongs to the letter before it; one with no letter is dropped.
            if chars and chars[-1] != "-":
                chars.append(char)
        elif chars and chars[-1] != "-":
            chars.append("-")
    slug = "".join(chars[:max_length]).strip("-")
    if not any(char.isalnum() for char in slug):
        raise InvalidInput(
            f"{shown(name)} has no letter or digit to build a slug from", field=field
        )
    return slug


def _check_sku(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not _SKU.fullmatch(value):
        raise InvalidInput(
            "a SKU is 1 to 64 letters, digits, '.', '_', '/' or '-', starting with a letter "
            f"or digit; got {shown(value)}",
            field=attribute.name,
        )


# Millimetres or grams, in whole numbers up to 10 km or 10 t.
_MEASURE: Final = whole_number(1, 10_000_000)
_MEASURE_OR_NONE: Final = attrs.validators.optional(_MEASURE)


def _mapping(value: Mapping[str, str] | None, field: str) -> Mapping[str, str]:
    if value is not None and not isinstance(value, Mapping):
        raise InvalidInput(
            f"expected a mapping of names to values, got {type(value).__name__}", field=field
        )
    return dict(value or {})


def _options(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return _mapping(value, "options")


def _attributes(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return _mapping(value, "attributes")


def _components(value: Mapping[str, int] | None) -> Mapping[str, int]:
    parts = dict(value or {})
    for sku, quantity in parts.items():
        if not isinstance(sku, str) or not _SKU.fullmatch(sku):
            raise InvalidInput(f"{shown(sku)} is not a SKU", field="components")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 1000:
            raise InvalidInput("a bundle takes 1 to 1000 units of a component", field="components")
    return parts


def _ids(value: Iterable[str] | str) -> tuple[str, ...]:
    # A bare string is one id, not a sequence of one-letter ids.
    if isinstance(value, str):
        return (value,)
    ids = tuple(value)
    for item in ids:
        if not isinstance(item, str):
            raise InvalidInput(f"expected ids as strings, got {shown(item)}", field="category_ids")
    return ids


@attrs.frozen(kw_only=True)
class Dimensions:
    """Outer dimensions of one unit as shipped, in millimetres."""

    length_mm: int = attrs.field(validator=_MEASURE)
    width_mm: int = attrs.field(validator=_MEASURE)
    height_mm: int = attrs.field(validator=_MEASURE)


class PublicationState(enum.Enum):
    """Whether a product can be seen and bought."""

    DRAFT = "draft"
    ACTIVE = "active"
    ARCHIVED = "archived"


@attrs.define(kw_only=True, eq=False)
class Variant:
    """One buyable thing: a product in a given size, colour, edition."""

    sku: str = attrs.field(validator=_check_sku)
    """Stock keeping unit, unique across the catalogue."""
    product_id: str = ""
    """Set by the catalogue when the product is added."""
    options: Mapping[str, str] = attrs.field(factory=dict, converter=_options)
    """Option values that tell this variant from its siblings, such as ``{"size": "M"}``."""
    weight_grams: int | None = attrs.field(default=None, validator=_MEASURE_OR_NONE)
    dimensions: Dimensions | None = None
    tax_category: str | None = None
    """Overrides the product's tax category when set."""
    track_stock: bool = True
    """False for goods that never run out (services, made to order)."""
    digital: bool = False
    """Digital goods need no shipping."""
    components: Mapping[str, int] = attrs.field(factory=dict, converter=_components)
    """For a bundle: the SKUs (and how many of each) one unit is made of. A bundle
    keeps no stock of its own; selling one takes its components' stock."""

    @property
    def requires_shipping(self) -> bool:
        """Whether this variant is a physical good that must be shipped."""
        return not self.digital


def _availability(
    available_from: datetime | None, available_until: datetime | None
) -> Window | None:
    window = Window.between(
        available_from, available_until, fields=("available_from", "available_until")
    )
    # Most products are on sale for good, and pricing asks about every line: for them
    # is_available skips the call.
    return None if window == _ALWAYS else window


def _move_window(product: Product, attribute: attrs.Attribute[Any], value: Any) -> Any:
    if attribute.name == "available_from":
        product._window = _availability(value, product.available_until)
    else:
        product._window = _availability(product.available_from, value)
    return value


_RESCHEDULE: Final = attrs.setters.pipe(attrs.setters.validate, _move_window)


@attrs.define(kw_only=True, eq=False)
class Product:
    """What a customer browses: a name, a description, and one or more variants."""

    id: str = attrs.field(validator=text(64))
    name: str = attrs.field(validator=text(200))
    slug: str = ""
    """URL slug; built from ``name`` when not given."""
    description: str = ""
    category_ids: tuple[str, ...] = attrs.field(default=(), converter=_ids)
    """A product may sit in several categories; a single string is one category."""
    attributes: Mapping[str, str] = attrs.field(factory=dict, converter=_attributes)
    """Free-form facts such as ``{"material": "cotton"}``."""
    tax_category: str = "standard"
    state: PublicationState = PublicationState.DRAFT
    available_from: datetime | None = attrs.field(
        default=None, validator=aware_or_none, on_setattr=_RESCHEDULE
    )
    available_until: datetime | None = attrs.field(
        default=None, validator=aware_or_none, on_setattr=_RESCHEDULE
    )
    """On sale from ``available_from`` until (not at) ``available_until``; setting
    either moves the window, and one that would end before it starts is refused."""
    variants: list[Variant] = attrs.field(factory=list)
    _window: Window | None = attrs.field(init=False, repr=False)
    """The availability window; ``None`` when open at both ends."""

    def __attrs_post_init__(self) -> None:
        self.slug = slugify(self.slug, field="slug") if self.slug else slugify(self.name)
        self._window = _availability(self.available_from, self.available_until)

    def publish(self) -> None:
        """Make the product visible and buyable (within its availability window)."""
        if not self.variants:
            raise InvalidInput(
                "a product needs at least one variant to be published", field="variants"
            )
        self.state = PublicationState.ACTIVE

    def archive(self) -> None:
        """Withdraw the product from sale; it stays for orders that reference it."""
        self.state = PublicationState.ARCHIVED

    def is_available(self, now: datetime) -> bool:
        """Active and inside its availability window at ``now``."""
        window = self._window
        return self.state is PublicationState.ACTIVE and (window is None or window.contains(now))


@attrs.define(kw_only=True, eq=False)
class Category:
    """A node of the category tree."""

    id: str = attrs.field(validator=text(64))
    name: str = attrs.field(validator=text(200))
    slug: str = ""
    parent_id: str | None = None

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


@attrs.frozen
class ItemFacts:
    """What pricing and promotions need to know about a SKU, resolved once."""

    sku: str
    product_id: str
    category_ids: frozenset[str]
    """The product's categories and all their ancestors."""
    tax_category: str
    product: Product


class Catalog:
    """Products, variants (unique SKUs) and the category tree, in memory."""

    def __init__(self, categories: Iterable[Category] = ()) -> None:
        self.categories = CategoryTree(categories)
        self._products: dict[str, Product] = {}
        self._variants: dict[str, Variant] = {}
        self._facts: dict[str, ItemFacts] = {}

    @classmethod
    def sharing(cls, tree: CategoryTree) -> Catalog:
        """A catalogue over ``tree`` itself rather than a copy of it, for one built
        once and read by many: add or move no category in either afterwards."""
        catalog = cls()
        catalog.categories = tree
        return catalog

    def add_category(self, category: Category) -> None:
        """Add a category to the tree."""
        self.categories.add(category)
        self._facts.clear()

    def move_category(self, category_id: str, new_parent_id: str | None) -> None:
        """Re-parent a category (see :meth:`CategoryTree.move`)."""
        self.categories.move(category_id, new_parent_id)
        self._facts.clear()

    def add_product(self, product: Product) -> None:
        """Add a product with its variants.

        :raises DuplicateSku: if a variant's SKU is already taken (nothing is added).
        :raises NotFound: if the product names a category the tree does not have.
        """
        if product.id in self._products:
            raise InvalidInput(f"product {shown(product.id)} already exists", field="id")
        seen: set[str] = set()
        for variant in product.variants:
            if variant.sku in self._variants or variant.sku in seen:
                raise DuplicateSku(variant.sku)
            seen.add(variant.sku)
        for category_id in product.category_ids:
            self.categories.get(category_id)
        self._products[product.id] = product
        for variant in product.variants:
            variant.product_id = product.id
            self._variants[variant.sku] = variant

    def add_variant(self, product_id: str, variant: Variant) -> None:
        """Add another variant to an existing product."""
        product = self.product(product_id)
        if variant.sku in self._variants:
            raise DuplicateSku(variant.sku)
        variant.product_id = product_id
        product.variants.append(variant)
        self._variants[variant.sku] = variant

    def product(self, product_id: str) -> Product:
        """:raises NotFound: for an unknown product id."""
        try:
            return self._products[product_id]
        except KeyError:
            raise NotFound("product", product_id, field="product_id") from None

    def variant(self, sku: str) -> Variant:
        """:raises UnknownSku: for an unknown SKU."""
        try:
            return self._variants[sku]
        except KeyError:
            raise UnknownSku(sku) from None

    def find_variant(self, sku: str) -> Variant | None:
        """The variant with this SKU, or ``None`` (a product since removed)."""
        return self._variants.get(sku)

    def products(self) -> Iterator[Product]:
        """Every product, in the order added."""
        return iter(self._products.values())

    def facts(self, sku: str) -> ItemFacts:
        """Product, categories (with ancestors) and tax category of a SKU, cached.

        :raises UnknownSku: for an unknown SKU.
        """
        cached = self._facts.get(sku)
        if cached is not None:
            return cached
        variant = self.variant(sku)
        product = self._products[variant.product_id]
        categories: set[str] = set(product.category_ids)
        for category_id in product.category_ids:
            categories.update(self.categories.ancestors(category_id))
        facts = ItemFacts(
            sku=sku,
            product_id=product.id,
            category_ids=frozenset(categories),
            tax_category=variant.tax_category or product.tax_category,
            product=product,
        )
        self._facts[sku] = facts
        return facts

    def invalidate(self) -> None:
        """Forget cached facts after moving categories or changing tax categories."""
        self._facts.clear()


# --- uniqueness: the one decision both storages ask --------------------------------


def require_new(kind: str, key: str, *, taken: bool, field: str = "id") -> None:
    """Refuse adding a ``kind`` under ``key`` when storage holds one already.

    :raises AlreadyExists: naming ``field``.
    """
    if taken:
        raise AlreadyExists(kind, key, field=field)


def check_product_refs(
    product: Product, *, sku_owners: Mapping[str, str], categories: Collection[str]
) -> None:
    """Whether ``product`` may be stored as it is: each SKU once among its variants and
    owned by no other product (``sku_owners``: SKU to the product that has it), and
    every category it names stored (``categories``).

    :raises DuplicateSku: for a SKU taken.
    :raises NotFound: for a category that does not exist.
    """
    seen: set[str] = set()
    for variant in product.variants:
        owner = sku_owners.get(variant.sku)
        if variant.sku in seen or (owner is not None and owner != product.id):
            raise DuplicateSku(variant.sku)
        seen.add(variant.sku)
    for category_id in product.category_ids:
        if category_id not in categories:
            raise NotFound("category", category_id, field="category_ids")
