"""One settings object: ``enrich.yml`` plus ``ENRICH_*`` environment overrides.

Nothing happens at import time. :func:`load_settings` reads the file, applies
the environment (``ENRICH_HOME``, ``ENRICH_DATABASE_URL``,
``ENRICH_GENERATE__PROFILES``, ...), validates, and resolves paths against the
folder that holds the config file.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from ml.core.errors import ConfigError

CONFIG_FILE_NAME = "enrich.yml"
PACKAGE_PROJECT_DIR = Path(__file__).resolve().parents[2]


class StorageSettings(BaseModel):
    """Object storage used by the lake and by ``s3://`` inputs."""

    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    # The lake: a local folder or s3://bucket/prefix; None = ENRICH_HOME/lake.
    lake: str | None = None
    # Every load also writes its successful batches to <lake>/raw/ as Parquet
    # (what DuckDB and Spark featurize from). Off: featurizing on those
    # targets copies the missing batches from the warehouse first.
    raw_to_lake: bool = True


class GenerateSettings(BaseModel):
    """Defaults of the synthetic XDM generator."""

    profiles: int = Field(20_000, ge=1)
    seed: int = Field(7, ge=0)
    as_of: dt.date | None = None
    weeks: int = Field(12, ge=1, le=520)
    horizon_days: int = Field(14, ge=1, le=90)
    chunk_profiles: int = Field(25_000, ge=100)

    def resolved_as_of(self) -> dt.date:
        """The configured as_of date, or today (UTC) when none is set."""
        return self.as_of or dt.datetime.now(dt.UTC).date()


class RunSettings(BaseModel):
    """What ``enrich run`` (the pipeline flow) runs on."""

    # generate: synthetic data first (the demo); loaded: what the warehouse
    # holds (your own exports, loaded with `enrich load`).
    source: Literal["generate", "loaded"] = "generate"


class LoadSettings(BaseModel):
    """Defaults of the batch loader."""

    identity_field: str = "identityMap.ECID[0].id"
    max_future_hours: float = Field(24.0, ge=0)
    chunk_records: int = Field(50_000, ge=1)
    workers: int = Field(2, ge=1, le=16)


class ExportSettings(BaseModel):
    """How ML datasets leave the warehouse for the lake."""

    part_rows: int = Field(250_000, ge=1)
    fetch_rows: int = Field(50_000, ge=1)


class FeaturizeSettings(BaseModel):
    """The dbt build."""

    # Where the featurization runs: the warehouse (PostgreSQL), or DuckDB or
    # Spark over the lake's raw Parquet (the `duckdb` / `spark` extras).
    # Exports read the ML sets from the engine that built them; the profile
    # store (scores, profiles_enriched, audiences) stays in the warehouse.
    target: Literal["warehouse", "duckdb", "spark"] = "warehouse"

    # Above this many loaded events the EDA marts read a TABLESAMPLE sized to
    # about this many, and the point-in-time test checks that share of the
    # profiles (dbt vars eda_sample_percent, pit_test_sample_percent; the
    # report says so). The ML marts always read every event. None = never.
    sample_above_events: int | None = Field(5_000_000, ge=1_000)


class TrainSettings(BaseModel):
    """The propensity model: CatBoost parameters, split, leakage audit."""

    model_name: str = Field("subscription_propensity", pattern=r"^[a-z][a-z0-9_]*$")
    iterations: int = Field(600, ge=1)
    learning_rate: float = Field(0.08, gt=0, le=1)
    # Scoring explains every leaf of every tree once, 4^depth work per tree
    # (measured: 0.5 ms at depth 6, 0.04 s at 10, 0.7 s at 12), so the
    # deepest trees CatBoost allows are not offered.
    depth: int = Field(6, ge=1, le=10)
    early_stopping_rounds: int = Field(50, ge=1)
    # CatBoost's L2 penalty on leaf values and its number of splits per
    # numeric feature (CatBoost's own defaults: 3 and 254).
    l2_leaf_reg: float = Field(3.0, ge=0)
    border_count: int = Field(254, ge=1, le=65535)
    thread_count: int = Field(2, ge=1)
    seed: int = 7
    # Reweight positives by sqrt(negatives/positives) while fitting; the
    # probabilities are recalibrated on the validation slice afterwards.
    class_weights: str | None = Field(
        "SqrtBalanced", pattern=r"^(Balanced|SqrtBalanced)$"
    )
    validation_share: float = Field(0.15, gt=0, lt=0.5)
    baseline_trees: int = Field(100, ge=1)
    # Above this many rows at the training cutoffs, whole profiles are sampled
    # (seeded) down to it, and the holdout to max_holdout_rows (the metrics'
    # standard errors are tiny well before). None = no limit.
    max_training_rows: int | None = Field(500_000, ge=1_000)
    max_holdout_rows: int | None = Field(300_000, ge=1_000)
    # The baselines and the leakage audit's permutation test fit on at most
    # this many training rows.
    baseline_max_rows: int = Field(250_000, ge=1_000)
    # Leakage audit (ml/model/leakage.py): a feature whose holdout AUC alone
    # reaches leakage_max_feature_auc fails training unless allowed; a model
    # fitted on labels permuted jointly over train and holdout (trees:
    # leakage_null_iterations) fails it when its holdout AUC's two-sided
    # p-value under the exact Mann-Whitney null is below leakage_null_alpha.
    leakage_max_feature_auc: float = Field(0.95, gt=0.5, le=1)
    leakage_allowed_features: list[str] = []
    leakage_null_alpha: float = Field(1e-4, gt=0, lt=0.5)
    leakage_null_iterations: int = Field(50, ge=1)
    shap_sample_rows: int = Field(5_000, ge=100)
    # Before fitting (ml/model/diagnostics.py): at least this many positives
    # at the training cutoffs before the holdout, and at the holdout cutoff;
    # fewer stop training with what the data holds for the target.
    min_positives: int = Field(50, ge=1)
    min_holdout_positives: int = Field(10, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _replaced_keys(cls, values: Any) -> Any:
        if isinstance(values, dict) and "shuffled_auc_tolerance" in values:
            raise ValueError(
                "train.shuffled_auc_tolerance was replaced by "
                "train.leakage_null_alpha (the permutation test's p-value "
                "level, default 1e-4): remove the old key"
            )
        return values


class RegistrySettings(BaseModel):
    """The promotion gate."""

    min_auc: float = Field(0.6, ge=0, le=1)
    max_auc_drop: float = Field(0.01, ge=0, le=1)
    # A candidate the best baseline beats beyond the bootstrap interval of the
    # AUC difference: refuse (not promoted) or warn (promoted, the decision
    # says which baseline won and by how much).
    baseline_rule: Literal["refuse", "warn"] = "warn"


class ScoreSettings(BaseModel):
    """Scoring (stage 5) and ingesting the scores (stage 6)."""

    # Profiles scored per chunk: memory grows with it (leaf indexes of every
    # tree for every row); past ~50k chunks get slower again (their arrays
    # come fresh from the kernel each time: 4.6 s vs 5.1 s at 1M).
    chunk_rows: int = Field(50_000, ge=1)
    # Chunks scored at once, one thread each (CatBoost and numpy release the GIL).
    workers: int = Field(2, ge=1, le=16)


class AudienceSettings(BaseModel):
    """Where audiences are defined, and the economics of contacting a profile."""

    # The audience definitions (relative paths: beside enrich.yml).
    file: Path = Path("audiences.yml")
    # Optional: with both set, sizing suggests the profit-maximising threshold.
    cost_per_contact: float | None = Field(None, ge=0)
    value_per_conversion: float | None = Field(None, gt=0)


class PredictionSettings(BaseModel):
    """Where the predictions (targets, kinds, windows) are defined."""

    # The prediction spec (relative paths: beside enrich.yml); validated by
    # `enrich predictions validate`, compiled into dbt's var `predictions`.
    file: Path = Path("predictions.yml")


FLOW_NAMES = ("load", "featurize", "train", "score", "activate", "refresh", "pipeline")


class DeploymentSettings(BaseModel, extra="forbid"):
    """One scheduled deployment that ``enrich serve`` registers and serves."""

    flow: str = Field(pattern="^(" + "|".join(FLOW_NAMES) + ")$")
    cron: str = Field(min_length=9)  # five fields, e.g. "0 6 * * *"
    timezone: str = "UTC"
    parameters: dict[str, Any] = {}
    description: str | None = None


class OrchestrationSettings(BaseModel):
    """Prefect: retries of tasks that touch storage or the network, schedules."""

    # Tasks that touch S3 or HTTP destinations retry this often, waiting
    # retry_delay_seconds, then twice that, and so on. Deterministic failures
    # (bad data, failed dbt tests, a refused model) never retry.
    task_retries: int = Field(3, ge=0, le=10)
    retry_delay_seconds: float = Field(10.0, ge=0)
    deployments: dict[str, DeploymentSettings] = {
        "daily-refresh": DeploymentSettings(
            flow="refresh",
            cron="0 6 * * *",
            description="Score every profile and activate the audiences.",
        ),
        "weekly-train": DeploymentSettings(
            flow="train",
            cron="0 4 * * 1",
            description="Rebuild the features, retrain, and promote if better.",
        ),
    }


class Settings(BaseSettings):
    """Every setting of enrich, validated.

    Attributes:
        project_dir: Folder holding ``enrich.yml``, ``dbt_project.yml`` and
            ``profiles.yml``.
        home: Folder of local state (embedded database, lake, reports).
        database_url: External PostgreSQL; ``None`` means the embedded server.
    """

    model_config = SettingsConfigDict(
        env_prefix="ENRICH_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    project_dir: Path = PACKAGE_PROJECT_DIR
    home: Path = Path(".enrich")
    database_url: SecretStr | None = None
    storage: StorageSettings = StorageSettings()
    generate: GenerateSettings = GenerateSettings()
    load: LoadSettings = LoadSettings()
    run: RunSettings = RunSettings()
    featurize: FeaturizeSettings = FeaturizeSettings()
    export: ExportSettings = ExportSettings()
    train: TrainSettings = TrainSettings()
    registry: RegistrySettings = RegistrySettings()
    score: ScoreSettings = ScoreSettings()
    audiences: AudienceSettings = AudienceSettings()
    predictions: PredictionSettings = PredictionSettings()
    orchestration: OrchestrationSettings = OrchestrationSettings()

    @field_validator("database_url", mode="before")
    @classmethod
    def _empty_url_is_none(cls, value: Any) -> Any:
        return None if value in ("", None) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Order of precedence: arguments, environment, then the YAML file."""
        config_file = _config_file()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if config_file is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, config_file))
        return tuple(sources)

    @property
    def pgdata(self) -> Path:
        """Data folder of the embedded PostgreSQL server."""
        return self.home / "pgdata"

    # Where the duckdb and spark targets of profiles.yml keep their tables
    # (profiles.yml derives the same paths from ENRICH_HOME).
    @property
    def duckdb_path(self) -> Path:
        """The DuckDB database the ``duckdb`` target builds."""
        return self.home / "warehouse.duckdb"

    @property
    def spark_warehouse(self) -> Path:
        """The folder of the ``spark`` target's tables (``<schema>.db/<table>``)."""
        return self.home / "spark" / "warehouse"

    @property
    def lake(self) -> str:
        """The lake root: ``storage.lake`` (folder, s3:// URL) or ENRICH_HOME/lake."""
        return self.storage.lake or str(self.home / "lake")

    @property
    def audiences_file(self) -> Path:
        """The audience definitions file, resolved against the project folder."""
        path = self.audiences.file.expanduser()
        return path if path.is_absolute() else self.project_dir / path

    @property
    def predictions_file(self) -> Path:
        """The prediction spec file, resolved against the project folder."""
        path = self.predictions.file.expanduser()
        return path if path.is_absolute() else self.project_dir / path

    @property
    def seeds_dir(self) -> Path:
        """The dbt seeds folder (reference lists shared by dbt and Python)."""
        return self.project_dir / "seeds"


def _config_file() -> Path | None:
    explicit = os.environ.get("ENRICH_CONFIG")
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"ENRICH_CONFIG points at {path}, which is not a file.")
        return path.resolve()
    for folder in (Path.cwd(), *Path.cwd().parents):
        candidate = folder / CONFIG_FILE_NAME
        if candidate.is_file() and (folder / "dbt_project.yml").is_file():
            return candidate.resolve()
    candidate = PACKAGE_PROJECT_DIR / CONFIG_FILE_NAME
    return candidate if candidate.is_file() else None


def load_settings(**overrides: Any) -> Settings:
    """Read ``enrich.yml`` and the environment into a validated :class:`Settings`.

    Args:
        **overrides: Values that win over the file and the environment.

    Returns:
        Settings with ``home`` and ``project_dir`` as absolute paths.

    Raises:
        ConfigError: The file or an override is invalid; the message names
            the offending key.
    """
    config_file = _config_file()
    if config_file is not None:
        overrides.setdefault("project_dir", config_file.parent)
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc'])}: {err['msg']}"
            for err in exc.errors()
        )
        source = config_file or "defaults"
        raise ConfigError(
            f"Invalid configuration ({source} and ENRICH_* variables): {problems}"
        ) from None
    project_dir = settings.project_dir.expanduser().resolve()
    home = settings.home.expanduser()
    if not home.is_absolute():
        home = project_dir / home
    return settings.model_copy(
        update={"project_dir": project_dir, "home": home.resolve()}
    )
