"""Clouds behind the gateway, each a libcloud driver wrapped in a ``Provider``."""
