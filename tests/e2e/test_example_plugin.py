"""The example carrier plugin under examples/plugins/, installed as a package of its
own (README's install command and CI install it from its folder), is found through
its entry point and has its options checked when the store opens."""

from __future__ import annotations

import pytest

from commercekit.domain.errors import InvalidPluginOptions
from commercekit.plugins import Plugins
from commercekit.store import Store


def test_the_example_plugin_is_found_through_its_entry_point() -> None:
    assert "parcelpost" in Plugins(entry_point_plugins=True).carrier_kinds()
    config = {
        "carriers": {
            "post": {
                "plugin": "parcelpost",
                "options": {"price_units": 450},
                "secrets": {"webhook_secret": "whsec_post"},
            }
        }
    }
    with Store.open("memory://", config=config) as store:
        assert store.runtime.carrier("post").name == "post"


def test_a_wrong_option_of_the_example_plugin_names_it() -> None:
    config = {"carriers": {"post": {"plugin": "parcelpost", "options": {"price_units": -1}}}}
    with pytest.raises(InvalidPluginOptions) as wrong:
        Store.open("memory://", config=config)
    assert wrong.value.field == "carriers.post.options.price_units"
