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

from sqlalchemy.orm import Session

from backend.core.config import get_settings
from backend.core.errors import Invalid, NotFound
from backend.core.local_paths import HUB_ID, Where, is_local_path, locate

ARTIFACT = "artifact:"


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
        if not HUB_ID.match(ref):
            raise _invalid(field, f"{ref[:100]!r} is neither a hub id (owner/name), artifact:<id> nor a path")
        return ref
    real, where = locate(ref, project_id=project_id, roots=get_settings().model_roots)
    if where is Where.foreign:  # another project's folder answers as its id would: not found
        raise _not_found(field, "model path not found")
    if where is Where.outside:
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
