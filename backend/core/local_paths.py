"""What a user may name as a model or a dataset: a hub id, or a local path the administrator allows.

One rule for both (backend/training/model_refs.py for models, backend/prompts/hub.py for datasets), since
a path a user types is read by a worker with the server's permissions:
- a local path must lie under one of the administrator's roots (a setting per use; unset means none in
  `production` and any in `development` and `test`), resolved (symlinks, `..`) before the check;
- whatever the roots say, another project's folders under the data directory (`training/`,
  `snapshots/`, `uploads/`: one subfolder per project, so predictable from one's own) are answered as
  a foreign id would be: not found.
"""

from __future__ import annotations

import os
import re
from enum import Enum
from pathlib import Path

from backend.core.config import get_settings

# the hub's own rule for repo ids: an optional namespace, a name; letters, digits, - _ .
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}(/[\w.-]{1,96})?$")
# data-directory folders holding one subfolder per project (the second path part is the project id)
_PROJECT_ZONES = frozenset({"training", "snapshots", "uploads"})


class Where(Enum):
    allowed = "allowed"
    foreign = "foreign"  # another project's folder in the data directory: answer 404
    outside = "outside"  # not under the administrator's roots: answer 422


def is_local_path(ref: str) -> bool:
    """A path, not a hub id: what transformers or datasets would load from disk (they try the folder
    first), and anything a hub id cannot be (absolute, ./, ~, two slashes, a backslash)."""
    if ref.startswith(("/", ".", "~")) or "\\" in ref or ref.count("/") > 1:
        return True
    return os.path.exists(ref)


def allowed_roots(raw: str | None) -> list[Path] | None:
    """The administrator's folders from a roots setting; None: any folder."""
    if raw is None:
        raw = "" if get_settings().environment == "production" else "*"
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if "*" in parts:
        return None
    return [Path(os.path.realpath(os.path.expanduser(p))) for p in parts]


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def locate(ref: str, *, project_id: int, roots: str | None) -> tuple[Path, Where]:
    """The folder actually read for a local `ref` (symlinks followed) and whether this project may."""
    real = Path(os.path.realpath(os.path.expanduser(ref.strip())))
    data = Path(os.path.realpath(get_settings().data_dir))
    if _under(real, data):
        parts = real.relative_to(data).parts
        if len(parts) >= 1 and parts[0] in _PROJECT_ZONES:
            if len(parts) >= 2 and parts[0] == "training" and parts[1] == str(project_id):
                return real, Where.allowed  # this project's own training output, named by path
            return real, Where.foreign
    allowed = allowed_roots(roots)
    if allowed is not None and not any(_under(real, r) for r in allowed):
        return real, Where.outside
    return real, Where.allowed
