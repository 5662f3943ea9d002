"""``enrich featurize`` (flow ``featurize``) and ``enrich export``."""

from __future__ import annotations

import argparse

from enrich.cli.common import settings
from ml.features import export as exports


def export(args: argparse.Namespace) -> int:
    """Export the training and scoring sets to the lake."""
    names = {
        "training": ["ml_training_set"],
        "scoring": ["ml_scoring_set"],
        "all": list(exports.DATASETS),
    }[args.dataset]
    for exported in exports.export(settings(), names, args.target):
        print(f"{exported.dataset}: {exported.rows:,} rows -> {exported.folder}")
    return 0
