"""``enrich featurize`` (flow ``featurize``) and ``enrich export``."""

from __future__ import annotations

import argparse

from enrich.cli.common import settings
from ml.features import export as exports


def export(args: argparse.Namespace) -> int:
    """Export a prediction's training and scoring sets to the lake.

    Without ``--prediction``, the default prediction's (``ml_training_set``,
    ``ml_scoring_set``), without reading ``predictions.yml``.
    """
    current = settings()
    training, scoring = (
        list(exports.DATASETS)
        if args.prediction is None
        else exports.prediction_datasets(current, args.prediction)
    )
    names = {
        "training": [training],
        "scoring": [scoring],
        "all": [training, scoring],
    }[args.dataset]
    for exported in exports.export(current, names, args.target):
        print(f"{exported.dataset}: {exported.rows:,} rows -> {exported.folder}")
    return 0
