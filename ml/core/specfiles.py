"""The project's YAML spec files (audiences.yml, predictions.yml): read, validated.

Both are read the same way: a missing file or bad YAML is one clear error, and
every validation problem is listed with where it sits in the file, the items
of a list named by their key (``predictions[1] (purchase).horizon_days``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ml.core.errors import EnrichError

Model = TypeVar("Model", bound=BaseModel)


def where(raw: Any, location: tuple[str | int, ...], key: str) -> str:
    """``items[2] (name).field`` for a validation error's location.

    Args:
        raw: The file's parsed YAML.
        location: The error's location (pydantic's ``loc``).
        key: The key that names a list's item (``id``, ``name``).
    """
    parts: list[str] = []
    node = raw
    for part in location:
        if isinstance(part, int):
            label = f"[{part}]"
            try:
                node = node[part]
                if isinstance(node, dict) and key in node:
                    label += f" ({node[key]})"
            except (IndexError, KeyError, TypeError):
                pass
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(part))
            node = node.get(part) if isinstance(node, dict) else None
    return "".join(parts)


def read(
    path: Path,
    model: type[Model],
    error: type[EnrichError],
    *,
    what: str,
    setting: str,
    key: str,
) -> Model:
    """The file, validated against its model.

    Args:
        path: The file.
        model: The pydantic model of the whole file.
        error: The error to raise (the stage's own).
        what: What the file holds, for messages (``definitions``).
        setting: The setting that names the file (``audiences.file``).
        key: The key that names a list's item in messages.

    Raises:
        EnrichError: ``error``: the file is missing, not YAML, or invalid.
    """
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        section = setting.split(".")[0]
        raise error(
            f"No {section} file at {path}: create it (see {section}.yml in the "
            f"enrich repository) or set {setting} in enrich.yml."
        ) from None
    except yaml.YAMLError as exc:
        raise error(f"{path} is not valid YAML: {exc}") from None
    try:
        parsed = model.model_validate(raw)
    except ValidationError as exc:
        invalid = "\n".join(
            f"  {where(raw, err['loc'], key)}: {err['msg']}" for err in exc.errors()
        )
        raise error(f"{path} has invalid {what}:\n{invalid}") from None
    return parsed
