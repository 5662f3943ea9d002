"""What each flow returns: small typed summaries the CLI prints.

Flows hand these to their callers (the CLI, the pipeline flow, tests) instead
of dictionaries read by string keys. The ``ml`` results inside them (batches,
the audience build, deliveries) are the stages' own dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml.activation.builds import Build
from ml.activation.ledger import Delivery
from ml.data.batches import BatchResult


@dataclass(frozen=True)
class LoadOutcome:
    """What the ``load`` flow loaded.

    Attributes:
        batches: One result per batch (loaded, skipped or failed).
        events: Experience events loaded by these batches.
    """

    batches: list[BatchResult]
    events: int


@dataclass(frozen=True)
class FeaturizeOutcome:
    """What the ``featurize`` flow's ``dbt build`` did.

    Attributes:
        dbt: dbt's summary line (counts by status).
        nodes: Nodes dbt ran.
        target: The engine that built them.
    """

    dbt: str
    nodes: int
    target: str


@dataclass(frozen=True)
class ModelOutcome:
    """One prediction's model version the ``train`` flow trained, or found.

    Attributes:
        prediction: The prediction of ``predictions.yml``.
        model_name: Its registry model.
        rows: Training rows (every split).
        roc_auc: Holdout ROC AUC.
        version: The registered version.
        status: Its registry status (``production``, ``candidate``, ...).
        decision: The promotion gate's decision, in words.
    """

    prediction: str
    model_name: str
    rows: int
    roc_auc: float
    version: int
    status: str
    decision: str


@dataclass(frozen=True)
class TrainOutcome:
    """What the ``train`` flow did: one model outcome per prediction trained.

    ``version``, ``status``, ``decision`` and ``roc_auc`` are the first
    model's (the default prediction's when every prediction trains); ``rows``
    counts every prediction's training rows.
    """

    models: list[ModelOutcome]

    @property
    def first(self) -> ModelOutcome:
        """The first prediction trained (the default one when all train)."""
        return self.models[0]

    @property
    def rows(self) -> int:
        """Training rows of every prediction (every split)."""
        return sum(model.rows for model in self.models)

    @property
    def roc_auc(self) -> float:
        """The first model's holdout ROC AUC."""
        return self.first.roc_auc

    @property
    def version(self) -> int:
        """The first model's registered version."""
        return self.first.version

    @property
    def status(self) -> str:
        """The first model's registry status."""
        return self.first.status

    @property
    def decision(self) -> str:
        """The first model's gate decision."""
        return self.first.decision


@dataclass(frozen=True)
class ScoreOutcome:
    """What the ``score`` flow scored and ingested.

    Attributes:
        profiles: Profiles scored.
        ingest: The ingest's status (``success`` or ``skipped``).
        batch_id: The ingest batch.
        backtest: Realised conversion by decile (synthetic data), else None.
    """

    profiles: int
    ingest: str
    batch_id: str
    backtest: list[dict[str, Any]] | None


@dataclass(frozen=True)
class ActivateOutcome:
    """The audiences the ``activate`` flow built and what it delivered.

    Attributes:
        members: Members of every audience of the build.
        changes: Entries and exits sent to the destinations.
        build: The audience build.
        deliveries: One result per audience and destination.
    """

    members: int
    changes: int
    build: Build
    deliveries: list[Delivery]


@dataclass(frozen=True)
class RefreshOutcome:
    """The daily ``refresh``: scoring, then activation."""

    score: ScoreOutcome
    activate: ActivateOutcome


@dataclass(frozen=True)
class PipelineOutcome:
    """Every stage of the ``pipeline`` flow, its report and its stage record.

    Attributes:
        source: ``generate`` (synthetic data first) or ``loaded`` (what the
            warehouse holds, after loading ``paths`` if given).
        events: Experience events the pipeline ran on.
        loaded: The ``load`` flow's outcome (no batches when nothing was
            loaded by this run).
        trained: The ``train`` flow's outcome.
        scored: The ``score`` flow's outcome.
        activated: The ``activate`` flow's outcome.
        report: The run report's file.
        stages: The stage clock's record (``StageClock.as_dict()``).
    """

    source: str
    events: int
    loaded: LoadOutcome
    trained: TrainOutcome
    scored: ScoreOutcome
    activated: ActivateOutcome
    report: Path
    stages: dict[str, Any]
