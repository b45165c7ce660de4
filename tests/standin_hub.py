"""Stand-ins under their real hub ids: a Hugging Face hub cache (HF_HUB_CACHE layout) whose entry for,
say, Qwen/Qwen2.5-0.5B-Instruct is the stand-in folder of tests/standins.py. A worker started with
hub_env() and HF_HUB_OFFLINE=1 resolves the id a user typed exactly as it would on a host that had
downloaded the checkpoint (transformers and vLLM alike read the cache), so a test keeps the recipe's
real hub id and nothing in the platform learns about stand-ins.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path

from tests.standins import CACHE, FAMILIES, build


def family_of(hub_id: str) -> str:
    """The stand-in name (a key of FAMILIES) of a real hub id."""
    for name, fam in FAMILIES.items():
        if fam.hub_id == hub_id:
            return name
    raise KeyError(f"no stand-in of {hub_id!r}; stand-ins exist for {[f.hub_id for f in FAMILIES.values()]}")


def hub_cache(*names: str, root: Path | None = None) -> Path:
    """A hub cache holding the stand-ins of FAMILIES[name] for each name; returns its folder (give it
    to hub_env). Files are symlinks into the stand-in folders, as the hub's own cache links blobs."""
    root = root or CACHE / "hub"
    for name in names:
        src, fam = build(name), FAMILIES[name]
        repo = root / ("models--" + fam.hub_id.replace("/", "--"))
        commit = hashlib.sha1(src.name.encode()).hexdigest()  # changes when the stand-in is rebuilt
        snap = repo / "snapshots" / commit
        if (snap / "config.json").exists():
            continue
        tmp = repo / "snapshots" / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir(parents=True)
        for f in src.iterdir():
            (tmp / f.name).symlink_to(f)
        try:
            tmp.rename(snap)
        except OSError:  # another process laid it out first
            shutil.rmtree(tmp, ignore_errors=True)
        (repo / "refs").mkdir(exist_ok=True)
        ref = repo / "refs" / f".main-{os.getpid()}"
        ref.write_text(commit)
        ref.replace(repo / "refs" / "main")
    return root


def hub_env(cache: Path) -> dict[str, str]:
    """Environment of a process that should find hub ids in cache and never reach the network."""
    return {"HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
