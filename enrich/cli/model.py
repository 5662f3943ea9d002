"""``enrich train`` (flow ``train``) and ``enrich model``: the registry."""

from __future__ import annotations

import argparse
import json

from enrich.cli.common import settings
from ml.model import registry
from ml.model.frames import model_name_of


def model(args: argparse.Namespace) -> int:
    """The model registry: list, show, promote, rollback.

    Each acts on one prediction's model (``--prediction``, default: the
    default prediction's, ``train.model_name``).
    """
    current = settings()
    name = model_name_of(current, args.prediction)
    if args.model_command == "list":
        print(f"{name}:")
        print(f"{'version':>7} {'status':<10} {'roc_auc':>7} {'created':<20} decision")
        for item in registry.versions(current, name):
            print(
                f"{item.version:>7} {item.status:<10} "
                f"{item.metrics['roc_auc']:>7.3f} "
                f"{str(item.created_at)[:19]:<20} {item.decision or ''}"
            )
    elif args.model_command == "show":
        item = registry.get(current, args.version, name)
        if args.json:
            print(json.dumps(item.as_dict(), indent=2, default=str))
        else:
            print(
                f"{item.model_name} v{item.version} ({item.status}): holdout ROC AUC "
                f"{item.metrics['roc_auc']:.3f}; artifacts {item.artifact_uri}"
            )
    elif args.model_command == "promote":
        item, decision = registry.promote(current, args.version, name)
        print(f"{item.model_name} v{item.version}: {decision}")
        return 0 if item.status == "production" else 1
    else:
        item, decision = registry.rollback(current, name)
        print(f"{item.model_name}: {decision}")
    return 0
