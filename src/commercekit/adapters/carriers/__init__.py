"""Parcel carriers: the manual carrier and the sandbox carrier, offered as plugins."""
