"""The error of a failed activation, and whether running again may pass it.

Below :mod:`ml.activation.activate`, so the senders (:mod:`.http`,
:mod:`.files`) raise it without importing the orchestration.
"""

from __future__ import annotations

from ml.activation.ledger import Delivery
from ml.core.errors import EnrichError


class ActivationError(EnrichError):
    """A delivery failed (the ledger keeps it for the next run).

    Attributes:
        deliveries: Every result of the run, the failed ones included.
        retryable: Whether running again may succeed (a destination that was
            down, slow or throttling, or storage that failed), rather than a
            refusal (a 4xx, a missing secret) that needs a person.
    """

    def __init__(
        self,
        message: str,
        deliveries: list[Delivery] | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.deliveries = deliveries or []
        self.retryable = retryable
