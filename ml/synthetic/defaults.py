"""The generator's parameters: what a caller gave, else ``enrich.yml``'s."""

from __future__ import annotations

import datetime as dt

from ml.core.config import Settings
from ml.synthetic.world import GeneratorParams


def generator_params(
    settings: Settings,
    profiles: int | None = None,
    seed: int | None = None,
    as_of: dt.date | None = None,
    weeks: int | None = None,
    horizon_days: int | None = None,
) -> GeneratorParams:
    """The parameters of a synthetic dataset, missing ones from ``generate``.

    Args:
        settings: Project settings (their ``generate`` section).
        profiles: Profiles to generate (default: ``generate.profiles``).
        seed: Generator seed (default: ``generate.seed``).
        as_of: Last day of history (default: ``generate.as_of``, else today).
        weeks: Weeks of history (default: ``generate.weeks``).
        horizon_days: The simulated future's length (default: the config's).

    Returns:
        The parameters, chunked as ``generate.chunk_profiles`` says.
    """
    defaults = settings.generate
    return GeneratorParams(
        profiles=profiles or defaults.profiles,
        seed=defaults.seed if seed is None else seed,
        as_of=as_of or defaults.resolved_as_of(),
        weeks=weeks or defaults.weeks,
        horizon_days=horizon_days or defaults.horizon_days,
        chunk_profiles=defaults.chunk_profiles,
    )
