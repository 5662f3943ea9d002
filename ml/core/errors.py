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
    """A local or S3 path cannot be read or written.

    Attributes:
        retryable: The store failed (throttled, unreachable, a 5xx) and may
            answer later, rather than refusing (no such key, access denied).
    """

    def __init__(self, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


# S3 error codes that say "later", not "no".
_TRANSIENT_S3_CODES = frozenset(
    {
        "InternalError",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "ServiceUnavailable",
        "SlowDown",
        "Throttling",
        "ThrottlingException",
    }
)


def s3_error(message: str, exc: Exception) -> StorageError:
    """A StorageError for a boto3 failure, retryable when the store may recover."""
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        retryable = error.get("Code") in _TRANSIENT_S3_CODES or status >= 500
    else:
        retryable = isinstance(
            exc,
            ConnectionClosedError
            | ConnectTimeoutError
            | EndpointConnectionError
            | ReadTimeoutError,
        )
    return StorageError(f"{message}: {exc}", retryable=retryable)


class RelationMissingError(EnrichError):
    """A relation an engine should have built is not there (featurize first)."""
