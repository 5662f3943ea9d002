"""Errors a user can hit, each with a message that says what to do.

The CLI prints these without a traceback (``--debug`` shows one).
"""


class EnrichError(Exception):
    """Base class for every error enrich reports to a user."""


class ConfigError(EnrichError):
    """The configuration file or an ``ENRICH_*`` override is invalid."""


class WarehouseError(EnrichError):
    """The warehouse cannot be started, reached or used."""


class LoadError(EnrichError):
    """A dataset could not be loaded (the batch is marked failed)."""


class StorageError(EnrichError):
    """A local or S3 path cannot be read or written."""
