"""Parcel Post: an example carrier plugin for commercekit."""

from commercekit_parcelpost.plugin import ParcelPost, ParcelPostOptions, signed

__all__ = ["ParcelPost", "ParcelPostOptions", "signed"]
