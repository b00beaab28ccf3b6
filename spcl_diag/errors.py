"""Exceptions raised at the package's public boundaries."""

from __future__ import annotations


class DataFormatError(ValueError):
    """A data file or in-memory dataset does not have the documented layout.

    The message names the file (or dataset), the dialogue and the field, and says what was
    expected and what was found. When several problems are found they are all listed.
    """


class ConfigError(ValueError):
    """A run configuration or an override is invalid; the message lists valid choices."""
