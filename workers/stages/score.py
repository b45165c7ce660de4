"""The score stage: a vLLM teacher's top-K logprobs over an existing snapshot's kept traces, written as
the snapshot's teacher logprob cache (teacher_logprobs.parquet, source "score"; the format is
backend/datasets/logprobs.py), so a snapshot rolled out without rollout.logprobs can still train kd.

Each trace (the snapshot's `messages` rows) is rendered with the teacher's own chat template and sent
as token ids to /v1/completions with `prompt_logprobs: K` and `max_tokens: 1`: vLLM answers the top-K
at every prompt position, and the completion's positions are sliced out. Token ids, not text, so the
positions are exactly the ones encoded here. One batch of traces at a time, streamed to the file;
the file replaces the snapshot's (if any) only once whole, then its row and card say so.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from typing import Any

import aiohttp
import orjson
import pyarrow.parquet as pq

from backend.core.db import session_scope
from backend.core.egress import EgressPolicy
from backend.core.errors import Invalid
from backend.datasets.card import with_logprobs
from backend.datasets.logprobs import FILE, CacheMeta, TokenLogprobs, table
from backend.datasets.models import DatasetSnapshot
from backend.datasets.score import ScoreSettings
from backend.runs.models import Run
from backend.runs.stages import STAGES
from backend.teachers.models import Teacher
from backend.training.vocab import template_hash, vocab_hash
from workers.celery_app import celery_app
from workers.runner import StageContext, run_stage
from workers.teachers import egress
from workers.teachers.factory import TeacherSpec, teacher_spec
from workers.training.data import resolve_snapshot

log = logging.getLogger(__name__)
KIND = STAGES["score"]


def encode(tok, messages: list[dict[str, str]], stops: set[int]) -> tuple[list[int], list[int]]:
    """(prompt ids, completion ids) of a trace as the teacher is served it: the conversation before the
    last (assistant) turn with the generation prompt, then the reply up to and with its first stop token
    (where the teacher's generation ended)."""
    convo, reply = messages[:-1], messages[-1]["content"]
    if getattr(tok, "chat_template", None):
        prompt = tok.apply_chat_template(convo, add_generation_prompt=True, tokenize=False)
        full = tok.apply_chat_template(messages, tokenize=False)
        if not full.startswith(
            prompt
        ):  # a template that rewrites past turns: the reply as the teacher wrote it
            full = prompt + reply + (tok.eos_token or "")
        prompt_ids = tok(prompt, add_special_tokens=False)["input_ids"]
        rest = tok(full[len(prompt) :], add_special_tokens=False)["input_ids"]
    else:  # a base model: the contents one after another, as transformers_local serves it
        prompt_ids = tok("\n".join(m["content"] for m in convo) + "\n")["input_ids"]
        rest = tok(reply, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    end = next((i + 1 for i, t in enumerate(rest) if t in stops), len(rest))
    return list(prompt_ids), list(rest[:end])


def parse(positions: list[dict[str, Any] | None], completion: list[int], k: int) -> TokenLogprobs:
    """The completion's slice of vLLM's prompt_logprobs: per position the K best by rank (the actual
    token is listed too when it ranks below K; it is left out then)."""
    top_ids, top_lps = [], []
    for entry in positions:
        ranked = sorted(
            ((int(t), v) for t, v in (entry or {}).items()), key=lambda tv: tv[1].get("rank", 1e9)
        )[:k]
        top_ids.append([t for t, _ in ranked])
        top_lps.append([max(float(v["logprob"]), -1e4) for _, v in ranked])  # -inf does not fit float16
    return TokenLogprobs(completion, top_ids, top_lps)


class Scorer:
    """The teacher's /v1/completions, asked for prompt logprobs, a batch at a time."""

    def __init__(self, base_url: str, model: str, api_key: str | None, policy: EgressPolicy | None, k: int):
        self.url, self.model, self.k = base_url.rstrip("/") + "/completions", model, k
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = aiohttp.ClientSession(
            headers=headers, timeout=aiohttp.ClientTimeout(total=600), connector=egress.connector(policy)
        )

    async def one(self, prompt: list[int], completion: list[int]) -> TokenLogprobs | str:
        body = {"model": self.model, "prompt": prompt + completion, "max_tokens": 1, "temperature": 0,
                "prompt_logprobs": self.k}  # fmt: skip
        async with self.http.post(self.url, data=orjson.dumps(body), allow_redirects=False,
                                  headers={"Content-Type": "application/json"}) as resp:  # fmt: skip
            raw = await resp.read()
            if resp.status != 200:
                return f"http {resp.status}: {raw[:200].decode('utf-8', 'replace')}"
        positions = orjson.loads(raw)["choices"][0]["prompt_logprobs"]
        return parse(positions[len(prompt) : len(prompt) + len(completion)], completion, self.k)


def _teacher(run_id: int) -> TeacherSpec:
    with session_scope() as s:
        run = s.get_one(Run, run_id)
        teacher = s.get(Teacher, run.teacher_id) if run.teacher_id else None
        if teacher is None:
            raise Invalid("the run's teacher no longer exists", code="teacher_missing")
        if teacher.backend != "vllm":
            raise Invalid(
                f"score needs a vllm teacher; {teacher.name!r} is {teacher.backend}", code="teacher_not_vllm"
            )
        return teacher_spec(teacher)


def _tokenizer(spec: TeacherSpec):
    from transformers import AutoTokenizer, GenerationConfig

    try:
        tok = AutoTokenizer.from_pretrained(spec.model)
    except Exception as exc:  # noqa: BLE001 - a user error: the teacher's model names no tokenizer here
        raise Invalid(
            f"the teacher's tokenizer {spec.model!r} cannot be loaded: {exc}", code="no_tokenizer"
        ) from exc
    stops = {tok.eos_token_id} - {None}
    try:
        eos = GenerationConfig.from_pretrained(spec.model).eos_token_id
        stops |= {eos} if isinstance(eos, int) else set(eos or ())
    except Exception:  # noqa: BLE001,S110 - no generation_config.json: the tokenizer's eos alone
        pass
    return tok, stops


def score(ctx: StageContext) -> dict[str, Any]:
    settings = ctx.settings_as(ScoreSettings)
    snap = resolve_snapshot(ctx.run_id, settings.snapshot_id)
    source = snap.folder / "messages.parquet"
    if not source.is_file():
        raise Invalid(f"snapshot {snap.id} has no messages rows to score", code="no_snapshot")
    spec = _teacher(ctx.run_id)
    tok, stops = _tokenizer(spec)
    meta = CacheMeta(settings.k, vocab_hash(tok), template_hash(tok), spec.model, "score")
    tmp = snap.folder / f".{FILE}.{uuid.uuid4().hex}.tmp"
    try:
        rows, skipped, why = _write(ctx, spec, tok, stops, meta, settings, source, tmp)
        if not rows:
            raise Invalid(f"the teacher scored none of the snapshot's traces: {why}", code="nothing_scored")
        os.replace(tmp, snap.folder / FILE)
    finally:
        tmp.unlink(missing_ok=True)
        if not spec.base_url:
            from workers.teachers.vllm_server import release_all

            release_all()  # the accelerator goes back before the next stage
    info = {**meta.as_dict(), "rows": rows}
    _record(snap.id, snap.folder, info)
    return {"snapshot_id": snap.id, "rows": rows, "skipped": skipped, "skipped_reason": why,
            "k": settings.k, "teacher": spec.model, "tokenizer_hash": meta.tokenizer_hash,
            "template_hash": meta.template_hash}  # fmt: skip


def _write(ctx, spec: TeacherSpec, tok, stops, meta: CacheMeta, settings: ScoreSettings, source, tmp):
    if spec.base_url:
        base_url, model, key, policy = spec.base_url, spec.model, spec.api_key, EgressPolicy.current()
    else:
        from workers.teachers.vllm_server import VLLMServerSpec, acquire

        server = acquire(VLLMServerSpec.from_settings(spec.model, spec.settings))
        base_url, model, key, policy = server.base_url, server.served_name, None, None
    parquet = pq.ParquetFile(source)
    total = parquet.metadata.num_rows
    ctx.progress(0, total, force=True)

    async def run() -> tuple[int, int, str | None]:
        scorer = Scorer(base_url, model, key, policy, settings.k)
        done = rows = skipped = 0
        why: str | None = None
        try:
            with pq.ParquetWriter(tmp, meta.schema()) as writer:
                for batch in parquet.iter_batches(
                    batch_size=settings.batch_size, columns=["messages", "generation_id"]
                ):
                    items = batch.to_pylist()
                    encoded = [encode(tok, r["messages"], stops) for r in items]
                    answers = await asyncio.gather(*(scorer.one(p, c) for p, c in encoded))
                    good = [
                        (r["generation_id"], a)
                        for r, a in zip(items, answers, strict=True)
                        if not isinstance(a, str)
                    ]
                    for a in answers:
                        if isinstance(a, str):
                            skipped += 1
                            why = why or a
                    if good:
                        writer.write_table(table(good, meta))
                    rows += len(good)
                    done += len(items)
                    ctx.progress(done, total)  # raises Cancelled: the temp file is dropped
        finally:
            await scorer.http.close()
        return rows, skipped, why

    return asyncio.run(run())


def _record(snapshot_id: int, folder, info: dict[str, Any]) -> None:
    """The snapshot's row and card say it has the cache now; README.md on disk follows the card."""
    with session_scope() as s:
        snap = s.get_one(DatasetSnapshot, snapshot_id)
        card = with_logprobs((snap.card or {}).get("markdown", ""), info)
        (folder / "README.md").write_text(card)
        snap.card = {**(snap.card or {}), "markdown": card}
        snap.teacher_logprobs = info
        snap.files = {
            p.name: p.stat().st_size for p in sorted(folder.iterdir()) if not p.name.startswith(".")
        }


@celery_app.task(name=KIND.task, bind=True)
def score_stage(self, stage_id: int) -> None:
    run_stage(stage_id, self.request.id, score)
