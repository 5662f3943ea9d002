"""Exact SHAP values of a CatBoost model by table lookup, and the raw score from them.

For one tree of a model, a row's SHAP vector depends only on the leaf the row
reaches. So each (tree, leaf) pair is explained once, by CatBoost itself on a
one-tree copy of the model, and every row then adds a few table entries per
tree. The values equal ``get_feature_importance(type="ShapValues")``, and by
SHAP's efficiency their sum plus the model's expected value is the row's raw
score, so scoring needs no second pass through the trees.

Training explains the leaves its rows reach and stores the tables with the
model (:meth:`Explainer.save`); scoring loads them and explains only leaves
no training row reached, the first time a scored row does.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

TABLES_FILE = "shap_tables.npz"


class Explainer:
    """SHAP values of a CatBoost model's rows, tree by tree from lookup tables."""

    BLOCK_ROWS = 16_384

    def __init__(self, model: Any, n_features: int) -> None:
        self.model = model
        self.n_features = n_features
        self.trees = int(model.tree_count_)
        counts = [int(c) for c in model.get_tree_leaf_counts()]
        self._full = [np.zeros((count, n_features)) for count in counts]
        self._known = [np.zeros(count, dtype=bool) for count in counts]
        self._complete = False
        self.expected_value: float | None = None
        # Per tree: the features it touches and their table, feature-major,
        # and 1.0 for each leaf not explained yet (None once all are),
        # replaced as one tuple so a reader in another thread sees one state.
        self._compact = [
            _compact(full, known)
            for full, known in zip(self._full, self._known, strict=True)
        ]
        self._lock = threading.Lock()

    # -- tables --------------------------------------------------------------------

    def learn(self, pool: Any, leaves: np.ndarray | None = None) -> None:
        """Explain the (tree, leaf) pairs the pool's rows reach for the first time.

        Args:
            pool: Rows as a CatBoost ``Pool``.
            leaves: ``model.calc_leaf_indexes(pool)`` when already computed.
        """
        if leaves is None:
            leaves = self.model.calc_leaf_indexes(pool)
        with self._lock:
            self._learn(pool, np.ascontiguousarray(leaves.T), None)

    def save(self, path: Path) -> None:
        """Write the tables learned so far (compressed: most entries are zero)."""
        expected = np.nan if self.expected_value is None else self.expected_value
        np.savez_compressed(
            path,
            full=np.concatenate(self._full),
            known=np.concatenate(self._known),
            leaf_counts=np.array([known.size for known in self._known]),
            expected_value=np.array([expected]),
        )

    @classmethod
    def load(cls, model: Any, n_features: int, path: Path) -> Explainer:
        """An explainer with the tables :meth:`save` wrote for this model.

        Raises:
            ValueError: The tables belong to another model (tree or feature count).
        """
        explainer = cls(model, n_features)
        with np.load(path) as stored:
            counts = [known.size for known in explainer._known]
            if (
                stored["leaf_counts"].tolist() != counts
                or stored["full"].shape[1] != n_features
            ):
                raise ValueError(f"{path.name} does not match the model's trees")
            bounds = np.cumsum([0, *counts])
            full, known = stored["full"], stored["known"]
            for tree in range(explainer.trees):
                leaves = slice(bounds[tree], bounds[tree + 1])
                explainer._full[tree] = full[leaves].copy()
                explainer._known[tree] = known[leaves].copy()
                explainer._compact[tree] = _compact(
                    explainer._full[tree], explainer._known[tree]
                )
            value = float(stored["expected_value"][0])
            explainer.expected_value = None if np.isnan(value) else value
        explainer._complete = all(k.all() for k in explainer._known)
        return explainer

    # -- values --------------------------------------------------------------------

    def contributions(self, pool: Any, leaves: np.ndarray) -> np.ndarray:
        """SHAP values of the pool's rows, feature-major: shape (features, rows).

        Args:
            pool: The rows as a CatBoost ``Pool``.
            leaves: ``model.calc_leaf_indexes(pool)``, shape (rows, trees).
        """
        result, missing = self._lookup(leaves)
        if missing is not None and missing.any():
            # Rows that reached a leaf not explained yet: explain it, then
            # look those rows up again (tables only grow, so a row another
            # thread's learning completed in between is simply redone).
            rows = np.flatnonzero(missing)
            with self._lock:
                self._learn(pool, np.ascontiguousarray(leaves[rows].T), rows)
            result[:, rows] = self._lookup(leaves[rows])[0]
        return result

    def _lookup(self, leaves: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The rows' SHAP values from the tables, and unexplained leaves per row.

        The second value counts, per row, the leaves it reached that are not
        explained yet; None when every leaf of the model is.
        """
        size = leaves.shape[0]
        result = np.zeros((self.n_features, size))
        missing = None if self._complete else np.zeros(size)
        # Blocks of rows small enough for the sums to stay in the CPU cache
        # while every tree adds to them (1.7x faster than whole chunks), each
        # block's leaf indexes turned tree-major on its own.
        for start in range(0, size, self.BLOCK_ROWS):
            stop = min(size, start + self.BLOCK_ROWS)
            block = result[:, start:stop]
            by_tree = np.ascontiguousarray(leaves[start:stop].T)
            for tree in range(self.trees):
                index = by_tree[tree]
                used, table, unknown = self._compact[tree]
                for row, feature in enumerate(used):
                    block[feature] += table[row].take(index)
                if missing is not None and unknown is not None:
                    missing[start:stop] += unknown.take(index)
        return result, missing

    def raw_scores(self, contributions: np.ndarray) -> np.ndarray:
        """The model's raw scores (log-odds) from the rows' SHAP values."""
        if self.expected_value is None:
            raise ValueError("no expected value yet: learn from some rows first")
        return contributions.sum(axis=0) + self.expected_value

    def _learn(self, pool: Any, by_tree: np.ndarray, rows: np.ndarray | None) -> None:
        """Explain the leaves ``by_tree`` reaches; ``rows``: their rows in the pool."""
        if self.expected_value is None:
            # The model's expected value: the last column of its SHAP values.
            first = self.model.get_feature_importance(
                pool.slice([0]), type="ShapValues", thread_count=1
            )
            self.expected_value = float(first[0, -1])
        # One scatter over every (tree, leaf) pair finds the trees to visit.
        widest = max(known.size for known in self._known)
        reached = np.zeros((self.trees, widest), dtype=bool)
        np.put_along_axis(reached, by_tree, True, axis=1)
        for tree in range(self.trees):
            missing = np.flatnonzero(
                reached[tree, : self._known[tree].size] & ~self._known[tree]
            )
            if missing.size == 0:
                continue
            # One row per missing leaf stands for every row that reaches it.
            index = by_tree[tree]
            some_row = np.full(self._known[tree].size, -1)
            some_row[index] = np.arange(index.size)
            chosen = some_row[missing]
            if rows is not None:
                chosen = rows[chosen]
            single = self.model.copy()
            single.shrink(ntree_end=tree + 1, ntree_start=tree)
            # One thread: CatBoost's default (every core) costs 3x per call.
            values = single.get_feature_importance(
                pool.slice(chosen.tolist()), type="ShapValues", thread_count=1
            )
            self._full[tree][missing] = values[:, :-1]
            self._known[tree][missing] = True
            self._compact[tree] = _compact(self._full[tree], self._known[tree])
        self._complete = all(known.all() for known in self._known)


def _compact(
    full: np.ndarray, known: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """A tree's features, their table (feature-major), and its unknown leaves."""
    used = np.flatnonzero(np.any(full != 0, axis=0))
    unknown = None if known.all() else (~known).astype(np.float64)
    return used, np.ascontiguousarray(full[:, used].T), unknown
