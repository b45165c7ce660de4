"""The snapshot stage: the run's accepted attempts, selected by the recipe's policy, written once as
an immutable, content-hashed dataset (Parquet and JSONL in the forms TRL reads, plus a dataset card).

Rows stream prompt by prompt from PostgreSQL (a server-side cursor) into the files, so memory stays
flat at a million generations. The content hash is the SHA-256 of the JSONL files; an identical
snapshot of the same project is reused, never written twice.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import uuid
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, select

from backend.core.config import get_settings
from backend.core.db import session_scope
from backend.core.errors import Invalid
from backend.datasets.card import render_card
from backend.datasets.models import DatasetSnapshot
from backend.datasets.schemas import SnapshotSettings
from backend.datasets.selection import Attempt, assistant_text, select_prompt
from backend.prompts.models import Prompt, PromptSet
from backend.reviews.decisions import human_decisions
from backend.rollouts.requests import conversation
from backend.rollouts.schemas import RolloutSettings
from backend.runs.cost import cost_per_accepted_usd
from backend.runs.models import Run
from backend.runs.stages import STAGES
from backend.samples.models import Generation, Verdict
from backend.teachers.models import Teacher
from backend.verifiers.filter import FilterSettings
from backend.verifiers.registry import VERIFIERS
from workers.celery_app import celery_app
from workers.edits import verify_unsettled
from workers.logprobs import gather_logprobs
from workers.runner import StageContext, run_stage, settings_for

log = logging.getLogger(__name__)
BATCH = 1000
HUMAN = ("human_accepted", "human_rejected", "human_edits")
_TURN = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
# teacher_id: who wrote the row (rollout.teachers routes prompts to teachers; null: a deleted run teacher)
_META = [("prompt_id", pa.int64()), ("reference", pa.string()), ("teacher_id", pa.int64())]
SCHEMAS = {
    "messages": pa.schema([("messages", _TURN), *_META, ("generation_id", pa.int64())]),
    "prompt_completion": pa.schema(
        [("prompt", _TURN), ("completion", _TURN), *_META, ("generation_id", pa.int64())]
    ),
    "preference": pa.schema(
        [("prompt", _TURN), ("chosen", _TURN), ("rejected", _TURN), *_META,
         ("chosen_id", pa.int64()), ("rejected_id", pa.int64())]
    ),
}  # fmt: skip


# the Parquet columns that hold the teacher's texts (and, in messages, the prompt's turns beside them)
_LONG = {f"{f}.list.element.content" for f in ("messages", "completion", "chosen", "rejected")}


class _Sink:
    """One config's JSONL and Parquet files, written a batch at a time. The Parquet columns are kept
    flat (a conversation column as its turns' roles, contents and offsets) and built by pyarrow in one
    call each: converting the rows' nested dicts took a third of a snapshot's time."""

    def __init__(self, folder: Path, name: str):
        self.name, self.rows, self.schema = name, 0, SCHEMAS[name]
        self._turns = {f.name for f in self.schema if f.type == _TURN}
        self._cols: dict[str, list[Any]] = {}
        self._clear()
        self.jsonl = (folder / f"{name}.jsonl").open("wb")
        # The teacher's texts (an assistant turn: ~2 KB, each unique) are written plain, without a
        # dictionary or min/max statistics: pyarrow hashed every one into a dictionary it then dropped
        # and compared them for statistics no reader uses (measured: 40% of the writer's CPU on such a
        # column). Roles, prompts (repeated across a prompt's attempts), references and ids keep both.
        leaves = [
            *(f"{f}.list.element.{part}" for f in self._turns for part in ("role", "content")),
            *(f.name for f in self.schema if f.name not in self._turns),
        ]
        small = [c for c in leaves if c not in _LONG]
        self.parquet = pq.ParquetWriter(
            folder / f"{name}.parquet", self.schema, use_dictionary=small, write_statistics=small
        )

    def _clear(self) -> None:
        self._n = 0
        for f in self.schema:
            if f.name in self._turns:
                for part in ("role", "content", "offset"):
                    self._cols[f"{f.name}.{part}"] = [0] if part == "offset" else []
            else:
                self._cols[f.name] = []

    def add(self, row: dict[str, Any]) -> None:
        self.jsonl.write(orjson.dumps(row) + b"\n")
        cols = self._cols
        for key, value in row.items():
            if key in self._turns:
                roles, contents = cols[f"{key}.role"], cols[f"{key}.content"]
                for turn in value:
                    roles.append(turn["role"])
                    contents.append(turn["content"])
                cols[f"{key}.offset"].append(len(roles))
            else:
                cols[key].append(value)
        self.rows += 1
        self._n += 1
        if self._n >= BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self._n:
            return
        cols, arrays = self._cols, []
        for f in self.schema:
            if f.name in self._turns:
                turns = pa.StructArray.from_arrays(
                    [
                        pa.array(cols[f"{f.name}.role"], pa.string()),
                        pa.array(cols[f"{f.name}.content"], pa.string()),
                    ],
                    names=["role", "content"],
                )
                arrays.append(pa.ListArray.from_arrays(pa.array(cols[f"{f.name}.offset"], pa.int32()), turns))
            else:
                arrays.append(pa.array(cols[f.name], f.type))
        self.parquet.write_table(pa.Table.from_arrays(arrays, schema=self.schema))
        self._clear()

    def close(self) -> None:
        self._flush()
        self.jsonl.close()
        self.parquet.close()


def _attempts(run_id: int, tally: dict[str, int], edited: set[int], default_teacher: int | None = None):
    """(prompt, its attempts) in prompt order, streamed; a human decision from the review overrides the
    machines' (accept admits, reject removes, an edit admits the edited text)."""
    with session_scope() as s:
        unverified = verify_unsettled(s, run_id)  # committed, the errors included, before any raise
    if unverified:  # the verifier's machinery failed on these edits: no verdict to admit or leave them by
        raise RuntimeError(f"{unverified} reviewer edit(s) could not be verified (the verifier failed)")
    with session_scope() as s:
        humans = human_decisions(s, run_id=run_id)
    stmt = (
        select(
            Generation.prompt_id, Generation.id, Generation.attempt, Generation.accepted,
            Generation.reasoning, Generation.content, Generation.completion_tokens, _judge_score(),
            Generation.finish_reason, Generation.reasoning_tokens, Generation.teacher_id,
        )
        .where(Generation.run_id == run_id, Generation.status == "ok")
        .order_by(Generation.prompt_id, Generation.attempt)
        .execution_options(yield_per=BATCH)
    )  # fmt: skip
    current, group = None, list[Attempt]()
    with session_scope() as s:
        for pid, gid, attempt, accepted, reasoning, content, tokens, score, finish, think, by in s.execute(
            stmt
        ):
            if pid != current and group:
                yield current, group
                group = []
            current = pid
            if (h := humans.get(gid)) is not None:
                tally["human_accepted" if h.accepted else "human_rejected"] += 1
                tally["human_edits"] += h.edited
                if h.left_out == "edit_unverified":  # verify_unsettled left none: an edit made meanwhile
                    raise RuntimeError(f"the edit of attempt {gid} has no verifier verdict yet; run it again")
                if h.left_out == "edit_rejected":  # the run's verifiers reject the edited text, no override
                    tally["excluded_edit_rejected"] += 1
                    continue
                accepted = h.accepted
                if h.edited:  # the reviewer's text replaces the teacher's; the teacher's finish stays
                    content, reasoning, tokens, think = h.content, h.reasoning, None, None
                    edited.add(gid)  # the teacher's logprobs are of another text: none for it
            taught = by if by is not None else default_teacher  # null: written before migration 0036
            group.append(
                Attempt(gid, attempt, accepted, reasoning, content, tokens, score, finish, think, taught)
            )
    if group:
        yield current, group


def _judge_score():
    """The judge's score of an attempt (its latest rubric version's highest), None without a judge."""
    return (
        select(func.max(Verdict.score))
        .where(Verdict.generation_id == Generation.id, Verdict.verifier == "judge")
        .correlate(Generation)
        .scalar_subquery()
    )


def _prompts(ids: list[int], default_system: str | None) -> dict[int, tuple[list[dict], str | None]]:
    with session_scope() as s:
        rows = s.execute(
            select(Prompt.id, Prompt.text, Prompt.system, Prompt.messages, Prompt.reference).where(
                Prompt.id.in_(ids)
            )
        ).all()
    return {r[0]: (conversation(r[1], r[2], r[3], default_system), r[4]) for r in rows}


def write_snapshot(ctx: StageContext) -> dict[str, Any]:
    settings = ctx.settings_as(SnapshotSettings)
    rollout = settings_for("rollout", ctx.recipe, RolloutSettings)
    with session_scope() as s:
        run = s.get_one(Run, ctx.run_id)
        project_id, run_name, run_teacher = run.project_id, run.name, run.teacher_id
        which = Generation.accepted.is_(True) if settings.include == "accepted" else Generation.status == "ok"
        total = s.scalar(select(func.count()).where(Generation.run_id == run.id, which)) or 0
    root = get_settings().data_dir / "snapshots" / str(project_id)
    tmp = root / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir(parents=True)
    try:
        kept: set[int] = set()
        taught: dict[int | None, list[int]] = {}  # teacher -> [prompts, rows]
        counts, configs = _write_rows(
            ctx, tmp, settings, rollout.system_prompt, total, kept, taught, run_teacher
        )
        logprobs = gather_logprobs(ctx.run_id, kept, tmp)
        digest = hashlib.sha256()
        for c in configs:
            with (tmp / f"{c}.jsonl").open("rb") as fh:
                for block in iter(partial(fh.read, 1 << 20), b""):
                    digest.update(block)
        if logprobs is not None:  # the same rows with and without the cache are two snapshots
            digest.update(orjson.dumps(logprobs, option=orjson.OPT_SORT_KEYS))
        content_hash = digest.hexdigest()
        name = settings.name or run_name
        return _store(ctx, tmp, root, content_hash, configs, counts, settings, name, logprobs, taught)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _assistant(a: Attempt, keep_reasoning: bool = True) -> list[dict[str, str]]:
    reasoning = a.reasoning if keep_reasoning else None
    content = a.content or ""
    if not keep_reasoning and "</think>" in content:  # reasoning inline in the content
        content = content.rsplit("</think>", 1)[1].strip()
    return [{"role": "assistant", "content": assistant_text(reasoning, content)}]


def _write_rows(
    ctx,
    folder: Path,
    settings: SnapshotSettings,
    system: str | None,
    total: int,
    kept: set[int],
    taught: dict[int | None, list[int]] | None = None,
    default_teacher: int | None = None,
):
    sinks = {name: _Sink(folder, name) for name in SCHEMAS}
    steps = ("accepted", "after_cut_reasoning", "after_pass_rate_band", "after_near_duplicates",
             "after_max_per_prompt")  # fmt: skip
    cut = ("excluded_truncated", "excluded_empty", "excluded_no_answer", "excluded_edit_rejected",
           "rejected_cut", "rows_with_reasoning")  # fmt: skip
    counts = dict.fromkeys((*steps, *cut, "prompts", "preference_pairs", *HUMAN), 0)
    keep = settings.reasoning == "keep"
    ctx.progress(0, total, force=True)
    pending: list[tuple[int, Any]] = []
    edited: set[int] = set()

    def drain() -> None:
        prompts = _prompts([pid for pid, _ in pending], system)
        for pid, picked in pending:
            convo, reference = prompts[pid]
            by_prompt: set[int | None] = set()
            for a in picked.rows:
                turn = _assistant(a, keep)
                counts["rows_with_reasoning"] += "</think>" in turn[0]["content"]
                meta = {"prompt_id": pid, "reference": reference, "teacher_id": a.teacher_id,
                        "generation_id": a.generation_id}  # fmt: skip
                if taught is not None:
                    taught.setdefault(a.teacher_id, [0, 0])[1] += 1
                    by_prompt.add(a.teacher_id)
                sinks["messages"].add({"messages": convo + turn, **meta})
                sinks["prompt_completion"].add({"prompt": convo, "completion": turn, **meta})
                if a.generation_id not in edited:
                    kept.add(a.generation_id)
            for t in by_prompt:
                taught.setdefault(t, [0, 0])[0] += 1  # type: ignore[union-attr]  # set only with taught
            for chosen, rejected in picked.pairs:
                sinks["preference"].add(
                    {
                        "prompt": convo,
                        "chosen": _assistant(chosen),
                        "rejected": _assistant(rejected),
                        "prompt_id": pid,
                        "reference": reference,
                        "teacher_id": chosen.teacher_id,
                        "chosen_id": chosen.generation_id,
                        "rejected_id": rejected.generation_id,
                    }
                )
        pending.clear()
        ctx.progress(counts["accepted"], total)

    try:
        for pid, attempts in _attempts(ctx.run_id, counts, edited, default_teacher):
            picked = select_prompt(pid, attempts, settings)
            counts["accepted"] += picked.accepted
            counts["after_cut_reasoning"] += picked.after_cut
            counts["excluded_truncated"] += picked.cut.get("truncated", 0)
            counts["excluded_no_answer"] += picked.cut.get("no_answer", 0)
            counts["excluded_empty"] += picked.cut.get("empty", 0)
            counts["rejected_cut"] += picked.rejected_cut
            counts["after_pass_rate_band"] += picked.after_band
            counts["after_near_duplicates"] += picked.after_near_duplicates
            counts["after_max_per_prompt"] += len(picked.rows)
            counts["prompts"] += bool(picked.rows)
            counts["preference_pairs"] += len(picked.pairs)
            if picked.rows or picked.pairs:
                pending.append((pid, picked))
            if len(pending) >= BATCH:
                drain()
        drain()
    finally:
        for sink in sinks.values():
            sink.close()
    configs = [name for name in SCHEMAS if sinks[name].rows]
    for name in SCHEMAS:
        if not sinks[name].rows:
            (folder / f"{name}.jsonl").unlink()
            (folder / f"{name}.parquet").unlink()
    if not configs:
        raise Invalid(
            "no attempt survived the filter and selection: the snapshot would be empty", code="empty_snapshot"
        )
    return counts, configs


def _store(
    ctx, tmp: Path, root: Path, content_hash: str, configs, counts, settings, name, logprobs, taught=None
) -> dict[str, Any]:
    with session_scope() as s:
        existing = s.scalar(
            select(DatasetSnapshot).where(
                DatasetSnapshot.project_id == s.get_one(Run, ctx.run_id).project_id,
                DatasetSnapshot.content_hash == content_hash,
            )
        )
        if existing is not None:
            return _summary(existing, counts, reused=True)
        run = s.get_one(Run, ctx.run_id)
        teachers = _taught(s, taught or {})
        card = render_card(
            **_card_inputs(s, run, name, content_hash, configs, settings, counts),
            teacher_logprobs=logprobs,
            teachers=teachers,
        )
        (tmp / "README.md").write_text(card)
        final = root / content_hash
        if not final.exists():
            tmp.rename(final)
        files = {p.name: p.stat().st_size for p in sorted(final.iterdir())}
        snap = DatasetSnapshot(
            project_id=run.project_id,
            run_id=run.id,
            name=name,
            content_hash=content_hash,
            row_counts={
                **counts,
                **{c: counts["after_max_per_prompt"] for c in configs if c != "preference"},
                "teachers": teachers,  # SnapshotOut shows them apart
            },
            files=files,
            card={"markdown": card},
            teacher_logprobs=logprobs,
        )
        s.add(snap)
        s.flush()
        return _summary(snap, counts, reused=False)


def _summary(snap: DatasetSnapshot, counts, *, reused: bool) -> dict[str, Any]:
    return {"snapshot_id": snap.id, "content_hash": snap.content_hash, "counts": counts,
            "files": dict(snap.files), "reused": reused, "teacher_logprobs": snap.teacher_logprobs,
            "teachers": (snap.row_counts or {}).get("teachers", [])}  # fmt: skip


def _taught(s, taught: dict[int | None, list[int]]) -> list[dict[str, Any]]:
    """Prompts and rows per teacher, most rows first, with each teacher's name and model."""
    out = []
    for tid, (prompts, rows) in sorted(taught.items(), key=lambda kv: (-kv[1][1], kv[0] or 0)):
        teacher = s.get(Teacher, tid) if tid is not None else None
        name, model = (teacher.name, teacher.model) if teacher else (None, None)
        out.append({"teacher_id": tid, "name": name, "model": model, "prompts": prompts, "rows": rows})
    return out


def _card_inputs(
    s, run: Run, name, content_hash, configs, settings: SnapshotSettings, counts
) -> dict[str, Any]:
    teacher = s.get(Teacher, run.teacher_id) if run.teacher_id else None
    pset = s.get(PromptSet, run.prompt_set_id) if run.prompt_set_id else None
    verifiers = None
    if "filter" in run.recipe.get("stages", []):
        combo = settings_for("filter", run.recipe, FilterSettings).verifiers
        verifiers = {
            "mode": combo.mode,
            "verifiers": [
                {"name": v.name, "version": VERIFIERS[v.name].version, "settings": v.settings}
                for v in combo.verifiers
            ],
        }
    return {
        "name": name,
        "content_hash": content_hash,
        "configs": configs,
        "teacher": {
            "name": teacher.name,
            "backend": teacher.backend,
            "model": teacher.model,
            "licence": teacher.licence,
        }
        if teacher
        else None,  # fmt: skip
        "warnings": [w for w in (run.warnings or []) if "forbid" in w],
        "prompt_set": {"id": pset.id, "name": pset.name, "version": pset.version} if pset else None,
        "verifiers": verifiers,
        "selection": settings.model_dump(mode="json"),
        "counts": counts,
        "filter_summary": (run.summary or {}).get("filter"),
        "judge_summary": (run.summary or {}).get("judge"),
        # the run page's figure (RunOut.cost_per_accepted_usd): the judge's calls counted with the rollout
        "cost_per_accepted": cost_per_accepted_usd(run.summary),
        "run": {"id": run.id, "name": run.name, "recipe_version": run.recipe_version},
    }


@celery_app.task(name=STAGES["snapshot"].task, bind=True)
def snapshot_stage(self, stage_id: int) -> None:
    run_stage(stage_id, self.request.id, write_snapshot)
