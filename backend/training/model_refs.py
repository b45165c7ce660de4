"""What a recipe or a teacher may name as a model, and the folder or hub id a worker then loads.

Three forms:
- a hub id (`Qwen/Qwen2.5-1.5B-Instruct`): loaded through the hub or its offline cache, as typed;
- `artifact:<id>`: a model this project trained (GET /models), resolved to its folder; another
  project's id is a 404, as every foreign id;
- a local path: only under the folders an administrator allows (DISTILLERY_MODEL_ROOTS), and never
  inside the data directory's per-project folders (training outputs, snapshots, uploads) of another
  project, whatever the roots say: those paths are predictable from one's own (GET /models shows them).

Checked at creation (recipe, teacher) and again by the worker before it loads, since settings and
folders change between the two; the worker's check is the one that holds.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from sqlalchemy.orm import Session

from backend.core.config import get_settings
from backend.core.errors import Invalid, NotFound

ARTIFACT = "artifact:"
# the hub's own rule for repo ids: an optional namespace, a name; letters, digits, - _ .
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}(/[\w.-]{1,96})?$")
# data-directory folders holding one subfolder per project (the second path part is the project id)
_PROJECT_ZONES = frozenset({"training", "snapshots", "uploads"})


def is_local_path(ref: str) -> bool:
    """A path, not a hub id: what transformers itself would load from disk (it tries the folder first),
    and anything a hub id cannot be (absolute, ./, ~, two slashes, a backslash)."""
    if ref.startswith(("/", ".", "~")) or "\\" in ref or ref.count("/") > 1:
        return True
    return os.path.exists(ref)


def allowed_roots() -> list[Path] | None:
    """The administrator's folders; None: any folder (development and test, when unset)."""
    s = get_settings()
    raw = s.model_roots
    if raw is None:
        raw = "" if s.environment == "production" else "*"
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if "*" in parts:
        return None
    return [Path(os.path.realpath(os.path.expanduser(p))) for p in parts]


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def resolve_model(session: Session, project_id: int, ref: str, *, field: str) -> str:
    """The hub id or folder a worker loads for `ref`, named by `field` (recipe.train.student...) in
    errors. Raises NotFound for another project's artifact or folder, Invalid for what is not allowed."""
    ref = ref.strip()
    if ref.startswith(ARTIFACT):
        from backend.datasets.models import ModelArtifact

        num = ref[len(ARTIFACT) :]
        art = session.get(ModelArtifact, int(num)) if num.isdigit() and len(num) < 10 else None
        if art is None or art.project_id != project_id:
            raise _not_found(field, f"model {ref} not found")
        return art.path
    if not is_local_path(ref):
        if not _HUB_ID.match(ref):
            raise _invalid(field, f"{ref[:100]!r} is neither a hub id (owner/name), artifact:<id> nor a path")
        return ref
    real = Path(os.path.realpath(os.path.expanduser(ref)))  # symlinks followed: the folder actually read
    data = Path(os.path.realpath(get_settings().data_dir))
    if _under(real, data):
        parts = real.relative_to(data).parts
        if len(parts) >= 1 and parts[0] in _PROJECT_ZONES:
            if len(parts) >= 2 and parts[0] == "training" and parts[1] == str(project_id):
                return str(real)  # this project's own training output, named by path
            # another project's folder answers as its id would: not found, and nothing about it
            raise _not_found(field, "model path not found")
    roots = allowed_roots()
    if roots is not None and not any(_under(real, r) for r in roots):
        raise _invalid(
            field,
            "local model paths must lie under a folder the administrator allows (DISTILLERY_MODEL_ROOTS); "
            "name a hub id, or artifact:<id> for a model this project trained",
            code="model_path_not_allowed",
        )
    return str(real)


def _invalid(field: str, message: str, code: str = "bad_model") -> Invalid:
    return Invalid(f"{field}: {message}", code=code, fields=[{"path": field, "message": message}])


def _not_found(field: str, message: str) -> NotFound:
    fields = [{"path": field, "message": message}]
    return NotFound(f"{field}: {message}", code="model_not_found", fields=fields)
