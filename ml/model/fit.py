"""CatBoost on the split: the pools of its parts and the fit.

Shared by the training (:mod:`ml.model.train`) and the leakage audit's
permutation test (:mod:`ml.model.leakage`). CatBoost gets the categorical
columns as categorical features.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ml.core.config import TrainSettings
from ml.model.frames import LABEL, Split

if TYPE_CHECKING:
    from catboost import CatBoostClassifier, Pool


def pool(
    part: pd.DataFrame,
    data: Split,
    with_label: bool = True,
    labels: np.ndarray | pd.Series | None = None,
) -> Pool:
    """A CatBoost pool of one part of the split.

    Args:
        part: Rows of the split (train, validation or holdout).
        data: The split (its features and categorical features).
        with_label: Attach the part's labels (when ``labels`` is None).
        labels: Labels to attach instead of the part's.

    Returns:
        The pool of the part's feature columns.
    """
    from catboost import Pool

    if labels is None and with_label:
        labels = part[LABEL].astype(int)
    return Pool(part[data.features], label=labels, cat_features=data.categorical)


def fit_catboost(
    data: Split, settings: TrainSettings, labels: np.ndarray | None = None
) -> CatBoostClassifier:
    """Fit CatBoost on the training part, early-stopped on the validation part.

    With ``labels`` (the permuted-label run) there is no early stopping:
    choosing the best iteration on real validation labels would let them in.

    Args:
        data: The split.
        settings: Training settings.
        labels: Labels of the training part to fit instead of its own.

    Returns:
        The fitted model.
    """
    from catboost import CatBoostClassifier

    train_pool = pool(data.train, data, labels=labels)
    model = CatBoostClassifier(
        iterations=settings.iterations,
        learning_rate=settings.learning_rate,
        depth=settings.depth,
        l2_leaf_reg=settings.l2_leaf_reg,
        border_count=settings.border_count,
        loss_function="Logloss",
        eval_metric="Logloss",
        auto_class_weights=settings.class_weights,
        random_seed=settings.seed,
        thread_count=settings.thread_count,
        early_stopping_rounds=None
        if labels is not None
        else settings.early_stopping_rounds,
        allow_writing_files=False,
        verbose=False,
    )
    if labels is not None:
        model.fit(train_pool)
    else:
        model.fit(train_pool, eval_set=pool(data.validation, data), use_best_model=True)
    return model
