"""Exact SHAP values of a CatBoost model by table lookup, and the raw score from them.

In an oblivious tree a row's SHAP vector depends only on the leaf it reaches,
so every (tree, leaf) pair is explained once, when the model is loaded, and
each row then adds a few table entries per tree. The values equal CatBoost's
``get_feature_importance(type="ShapValues")`` (its default "Regular" SHAP,
checked to 1e-9 by the unit tests), and by SHAP's efficiency their sum plus
the model's expected value is the row's raw score, so scoring needs no second
pass through the trees.

The tables come from the model's structure (its JSON form: splits, leaf
values, and leaf weights, the training rows' weight in each leaf), the way
CatBoost computes them (path-dependent TreeSHAP):

* the value of a set of a tree's splits, for the row reaching leaf ``x``, is
  the tree's output when the splits in the set follow the row and every other
  split sends it both ways in proportion to the training weight of each side;
  CatBoost takes the splits from the tree's last one (the leaf index's
  highest bit) to its first, so "each side" is a node of that path;
* the players are the splits' features: a numeric feature, a categorical one
  (one-hot or counter), or for a counter over a combination of categorical
  features the combination, whose share is then split equally among them;
* a player's SHAP value is its Shapley value over the tree's players.

For a tree of depth ``d`` that is ``2^d`` split sets by ``2^d`` leaves, the
cost CatBoost's own precomputation has: 0.5 ms per tree at the default depth
6, 0.04 s at depth 10 (the deepest the settings allow).
"""

from __future__ import annotations

import functools
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


class Explainer:
    """SHAP values of a CatBoost model's rows, tree by tree from lookup tables."""

    BLOCK_ROWS = 16_384

    def __init__(self, model: Any, n_features: int) -> None:
        """Explain every leaf of every tree of ``model``.

        Args:
            model: A fitted CatBoost model with oblivious (symmetric) trees.
            n_features: Its input features (the tables' width).

        Raises:
            ValueError: The model's trees are not oblivious, or it has no leaf
                weights (CatBoost stores them with every model it trains).
        """
        self.n_features = n_features
        structure = _model_json(model)
        trees = structure.get("oblivious_trees")
        if trees is None:
            raise ValueError("SHAP tables need oblivious trees (CatBoost's default)")
        players = _split_players(structure)
        scale, bias = structure.get("scale_and_bias", [1.0, [0.0]])
        self.expected_value = float(np.ravel(bias)[0])
        # Per tree: the features it touches and their table, feature-major.
        self._compact: list[tuple[np.ndarray, np.ndarray]] = []
        for tree, tree_players in zip(trees, players, strict=True):
            values = np.asarray(tree["leaf_values"], dtype=np.float64) * scale
            weights = np.asarray(tree.get("leaf_weights") or [], dtype=np.float64)
            if weights.size != values.size or values.size != 1 << len(tree_players):
                raise ValueError(
                    "SHAP tables need the model's leaf weights and one value per "
                    "leaf (a binary classifier trained by CatBoost)"
                )
            # A leaf no training row reached has no say (CatBoost skips it).
            values = np.where(weights > 0, values, 0.0)
            total = weights.sum()
            if total > 0:
                self.expected_value += float(values @ weights / total)
            table = _tree_table(values, weights, tree_players, n_features)
            used = np.flatnonzero(np.any(table != 0, axis=0))
            self._compact.append((used, np.ascontiguousarray(table[:, used].T)))
        self.trees = len(self._compact)

    def contributions(self, leaves: np.ndarray) -> np.ndarray:
        """SHAP values of rows, feature-major: shape (features, rows).

        Args:
            leaves: ``model.calc_leaf_indexes(pool)``, shape (rows, trees).
        """
        size = leaves.shape[0]
        result = np.zeros((self.n_features, size))
        # Blocks of rows small enough for the sums to stay in the CPU cache
        # while every tree adds to them (1.7x faster than whole chunks), each
        # block's leaf indexes turned tree-major on its own.
        for start in range(0, size, self.BLOCK_ROWS):
            stop = min(size, start + self.BLOCK_ROWS)
            block = result[:, start:stop]
            by_tree = np.ascontiguousarray(leaves[start:stop].T)
            for tree, (used, table) in enumerate(self._compact):
                index = by_tree[tree]
                for row, feature in enumerate(used):
                    block[feature] += table[row].take(index)
        return result

    def raw_scores(self, contributions: np.ndarray) -> np.ndarray:
        """The model's raw scores (log-odds) from the rows' SHAP values."""
        raw: np.ndarray = contributions.sum(axis=0) + self.expected_value
        return raw


def _model_json(model: Any) -> dict[str, Any]:
    """The model in CatBoost's JSON form (its documented export format)."""
    with tempfile.TemporaryDirectory(prefix="enrich-model-") as scratch:
        path = Path(scratch) / "model.json"
        model.save_model(str(path), format="json")
        structure: dict[str, Any] = json.loads(path.read_text())
        return structure


def _split_players(structure: dict[str, Any]) -> list[list[tuple[int, ...]]]:
    """Per tree, per split (first to last): the input columns it stands for.

    A numeric or one-hot split stands for its column; a counter (CTR) split for
    the categorical columns of its combination (CatBoost leaves the numeric
    and exact-value parts of a combination out).
    """
    info = structure["features_info"]
    floats = info.get("float_features", [])
    categoricals = info.get("categorical_features", [])
    numeric = {f["feature_index"]: f["flat_feature_index"] for f in floats}
    categorical = {f["feature_index"]: f["flat_feature_index"] for f in categoricals}
    # Counter splits name their binary feature by its place in the model's
    # list: every numeric border, every one-hot value, then every counter
    # border, in the order the JSON lists them.
    first_counter = sum(len(f.get("borders") or []) for f in floats)
    first_counter += sum(len(f.get("values") or []) for f in categoricals)
    counters: list[tuple[tuple[int, ...], float]] = []
    for counter in info.get("ctrs", []):
        columns = tuple(
            sorted(
                categorical[element["cat_feature_index"]]
                for element in counter["elements"]
                if element["combination_element"] == "cat_feature_value"
            )
        )
        counters.extend((columns, border) for border in counter["borders"])
    result: list[list[tuple[int, ...]]] = []
    for tree in structure["oblivious_trees"]:
        splits: list[tuple[int, ...]] = []
        for split in tree.get("splits") or []:
            kind = split["split_type"]
            if kind == "FloatFeature":
                splits.append((numeric[split["float_feature_index"]],))
            elif kind == "OneHotFeature":
                splits.append((categorical[split["cat_feature_index"]],))
            elif kind == "OnlineCtr":
                place = split["split_index"] - first_counter
                if not 0 <= place < len(counters) or not math.isclose(
                    counters[place][1], split["border"], rel_tol=1e-6, abs_tol=1e-6
                ):
                    raise ValueError(f"cannot place the counter split {split}")
                splits.append(counters[place][0])
            else:
                raise ValueError(f"SHAP tables do not know {kind} splits")
        result.append(splits)
    return result


def _tree_table(
    values: np.ndarray,
    weights: np.ndarray,
    players: list[tuple[int, ...]],
    n_features: int,
) -> np.ndarray:
    """SHAP values of one tree's leaves, shape (leaves, features)."""
    depth = len(players)
    leaves = values.size
    table = np.zeros((leaves, n_features))
    if depth == 0:
        return table
    # value[D, x]: the tree's output for the row reaching leaf x when the
    # splits in D (a mask of leaf-index bits) follow the row. Start from each
    # leaf's value times the share of weight the path to it keeps at every
    # split not in D ...
    value = np.tile(values, (leaves, 1))
    for split in range(depth):
        # Split `split` (the leaf index's bit) parts the node above it, whose
        # leaves share every higher bit, into the two halves of that bit.
        above = np.repeat(weights.reshape(-1, 2 << split).sum(axis=1), 2 << split)
        below = np.repeat(weights.reshape(-1, 1 << split).sum(axis=1), 1 << split)
        share = np.divide(below, above, out=np.zeros(leaves), where=above > 0)
        lacking = _without(value, split)
        lacking *= share
    # ... then add up, for every x, the leaves that agree with x on D: for
    # each split not in D, x and x with that bit flipped get their sum.
    for split in range(depth):
        lacking = _without(value, split)
        pairs = lacking.reshape(*lacking.shape[:2], -1, 2, 1 << split)
        both = pairs[..., 0, :] + pairs[..., 1, :]
        pairs[..., 0, :] = both
        pairs[..., 1, :] = both
    # The players in the order they first appear, and each split's player.
    distinct = list(dict.fromkeys(players))
    shapley = _shapley_weights(tuple(distinct.index(p) for p in players))
    for row, columns in zip(shapley @ value, distinct, strict=True):
        for column in columns:
            table[:, column] += row / len(columns)
    return table


def _without(value: np.ndarray, split: int) -> np.ndarray:
    """The rows of ``value`` whose split set lacks ``split``, as a view."""
    return value.reshape(-1, 2, 1 << split, value.shape[1])[:, 0]


@functools.lru_cache(maxsize=256)
def _shapley_weights(players: tuple[int, ...]) -> np.ndarray:
    """Shapley weights over split sets for a tree whose splits are ``players``.

    Args:
        players: Per split (first to last), its player's number: 0 for the
            first split's, then 1, 2, ... as new ones appear.

    Returns:
        A matrix (players, split sets) whose product with the value of every
        split set is each player's Shapley value.
    """
    count = max(players) + 1
    masks = [
        sum(1 << split for split, player in enumerate(players) if player == wanted)
        for wanted in range(count)
    ]
    weights = np.zeros((count, 1 << len(players)))
    for coalition in range(1 << count):
        size = coalition.bit_count()
        members = sum(masks[p] for p in range(count) if coalition >> p & 1)
        for p in range(count):
            if coalition >> p & 1:
                continue
            weight = (
                math.factorial(size)
                * math.factorial(count - size - 1)
                / math.factorial(count)
            )
            weights[p, members | masks[p]] += weight
            weights[p, members] -= weight
    return weights
