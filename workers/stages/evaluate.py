"""The evaluate stage: the base student, the trained student(s) and the teacher each answer every
held-out prompt (k samples, greedy for k = 1) through the same backends teachers use, the recipe's
verifiers score the answers, and each model's scores and every answer are stored.

The report records a config hash per model (its files, chat template, sampling, seed, max lengths,
verifier versions, the engine where it is not transformers with defaults): the same evaluation re-run
gives the same numbers. A local model on the vllm backend gets a server this worker starts
(workers/teachers/vllm_server.py) and gives back before the next model; the report also carries the
first prompt as each model was served it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import delete, select

from backend.core.db import session_scope, storable
from backend.core.errors import Invalid
from backend.datasets.models import ModelArtifact
from backend.evals import config_hash as ch
from backend.evals.checkpoints import to_evaluate
from backend.evals.metrics import reasoning_length_report, score
from backend.evals.models import EvalSample, Evaluation
from backend.evals.schemas import EvalSettings
from backend.prompts.models import Prompt, PromptSet
from backend.rollouts.requests import conversation
from backend.runs.models import Run
from backend.runs.stages import STAGES
from backend.teachers.models import Teacher
from backend.training.card import write_model_card
from backend.training.model_refs import resolve_model
from backend.verifiers.filter import FilterSettings
from backend.verifiers.registry import VERIFIERS, VerifierCombo
from workers.celery_app import celery_app
from workers.runner import StageContext, run_stage, settings_for
from workers.teachers.base import Request, Sampling, reasoning_token_count
from workers.teachers.factory import TeacherSpec, make_teacher, teacher_spec
from workers.teachers.transformers_local import unload
from workers.teachers.vllm_server import current, release_all
from workers.verifiers.verdict import Item
from workers.verifiers.verify import verify_many

log = logging.getLogger(__name__)
BATCH = 64


@dataclass
class Contender:
    label: str
    role: str
    model: str
    spec: TeacherSpec
    artifact_id: int | None = None
    step: int | None = None  # a training checkpoint's (evaluate.checkpoints)
    loss: float | None = None  # the training loss logged at that step


def _contenders(s, run: Run, settings: EvalSettings) -> list[Contender]:
    """The models to evaluate; a default that the run does not have (no teacher, nothing trained) is
    left out, a model asked for by name that cannot be resolved is an error."""
    recipe = run.recipe or {}
    artifact = s.scalar(
        select(ModelArtifact).where(ModelArtifact.run_id == run.id).order_by(ModelArtifact.id.desc()).limit(1)
    )
    teacher = s.get(Teacher, run.teacher_id) if run.teacher_id else None
    # the student before training: the train stage's, where the recipe trains one
    base = (recipe.get("train") or {}).get("student") if "train" in recipe.get("stages", []) else None
    out = []
    for m in settings.models:
        label = m.label or m.role
        model, artifact_id, spec = m.model, None, None
        if m.role == "teacher" and model is None:
            if teacher is None:
                continue
            spec, model = teacher_spec(teacher), teacher.model
        elif m.role == "student" and model is None:
            if artifact is None:
                continue
            model, artifact_id = artifact.path, artifact.id
        elif m.role == "base" and model is None:
            if base is None:
                continue
            model = base
        if model is None:
            raise Invalid(f"evaluate.models: {label!r} names no model", code="eval_model_missing")
        if spec is None and artifact_id is None:  # named in the recipe (or the train stage's student)
            model = resolve_model(s, run.project_id, model, field=f"evaluate.models: {label!r}")
        spec = spec or TeacherSpec(m.backend, model, None, None, m.settings)
        out.append(Contender(label, m.role, model, spec, artifact_id))
    if not out and settings.checkpoints is None:
        raise Invalid("evaluate: no model to evaluate (no teacher, no trained student, none named)",
                      code="eval_nothing")  # fmt: skip
    return out + _checkpoints(s, run, settings)


def _checkpoints(s, run: Run, settings: EvalSettings) -> list[Contender]:
    """The training checkpoints asked for, each generating as the trained student does (the recipe's
    student entry's backend and settings, else transformers_local)."""
    if settings.checkpoints is None:
        return []
    student = next((m for m in settings.models if m.role == "student"), None)
    backend, engine = (student.backend, student.settings) if student else ("transformers_local", {})
    return [
        Contender(
            f"checkpoint-{c.step}",
            "student",
            c.path,
            TeacherSpec(backend, c.path, None, None, engine),
            step=c.step,
            loss=c.loss,
        )  # fmt: skip
        for c in to_evaluate(s, run.id, settings.checkpoints)
    ]


def _prompts(
    s, run: Run, settings: EvalSettings, system: str | None
) -> tuple[int, list[tuple[int, list[dict[str, str]], Truth]]]:
    pset_id = settings.prompt_set_id or run.prompt_set_id
    pset = s.get(PromptSet, pset_id)
    if pset is None or pset.project_id != run.project_id:
        raise Invalid(
            f"evaluate.prompt_set_id: prompt set {pset_id} not found in this project", code="not_found"
        )
    stmt = select(
        Prompt.id, Prompt.text, Prompt.system, Prompt.messages, Prompt.reference, Prompt.meta
    ).where(Prompt.prompt_set_id == pset_id)
    if settings.split != "all" and settings.prompt_set_id is None:
        stmt = stmt.where(Prompt.split == settings.split)
    stmt = stmt.order_by(Prompt.position)
    if settings.max_prompts:
        stmt = stmt.limit(settings.max_prompts)
    rows = [
        (pid, conversation(t, sy, msgs, system), Truth(ref, (meta or {}).get("tests")))
        for pid, t, sy, msgs, ref, meta in s.execute(stmt)
    ]
    if not rows:
        raise Invalid(
            f"evaluate: the prompt set has no prompts in split {settings.split!r}", code="eval_empty"
        )
    return pset_id, rows


def _sampling(settings: EvalSettings) -> Sampling:
    greedy = settings.k == 1
    return Sampling(
        temperature=0.0 if greedy else settings.temperature,
        top_p=1.0 if greedy else settings.top_p,
        max_tokens=settings.max_tokens,
        seed=settings.seed,
    )


async def _answers(spec: TeacherSpec, sampling: Sampling, prompts, k: int, on_batch) -> dict[int, list]:
    backend = make_teacher(spec, sampling, concurrency=BATCH)
    out: dict[int, list] = {}
    try:
        requests = [Request(key=pid, messages=convo, n=k) for pid, convo, _ in prompts]
        async for req, completions in backend.generate(requests):
            out[req.key] = completions
            on_batch(len(out))
    finally:
        await backend.aclose()
    return out


def evaluate(ctx: StageContext) -> dict[str, Any]:
    settings = ctx.settings_as(EvalSettings)
    with session_scope() as s:
        run = s.get_one(Run, ctx.run_id)
        system = (run.recipe.get("rollout") or {}).get("system_prompt")
        contenders = _contenders(s, run, settings)
        pset_id, prompts = _prompts(s, run, settings, system)
        combo, combo_source = choose_verifiers(settings, run.recipe, prompts)
        project_id = run.project_id
    sampling = _sampling(settings)
    versions = {v.name: VERIFIERS[v.name].version for v in combo.verifiers}
    total = len(prompts) * len(contenders)
    ctx.progress(0, total, force=True)
    scores = []
    for i, c in enumerate(contenders):
        answers = asyncio.run(
            _answers(
                c.spec,
                sampling,
                prompts,
                settings.k,
                lambda n, i=i: ctx.progress(i * len(prompts) + n, total),
            )
        )
        try:
            served = _served_prompt(c.spec, prompts[0][1])
        finally:
            if _starts_server(c.spec):  # the accelerator goes back before the next model or stage
                release_all()
            elif c.step is not None:  # a checkpoint is never asked for again: its memory goes back
                unload(c.model)
        _check_complete(c, answers, len(prompts) * settings.k)
        scores.append(
            _score(
                ctx,
                c,
                prompts,
                answers,
                (combo, combo_source),
                settings,
                sampling,
                versions,
                project_id,
                pset_id,
                served,
            )  # fmt: skip
        )
    ctx.progress(total, total, force=True)
    with session_scope() as s:  # a trained model's card says what it scored now, not "none yet"
        for c in contenders:
            if c.artifact_id is not None and (artifact := s.get(ModelArtifact, c.artifact_id)) is not None:
                write_model_card(s, artifact)
    models = [m for m in scores if m["step"] is None]
    return {
        "prompts": len(prompts),
        "k": settings.k,
        "models": models,
        "comparison": _compare(models),
        "checkpoints": [_point(m, c) for m, c in zip(scores, contenders, strict=True) if c.step is not None],
    }


def _point(m: dict[str, Any], c: Contender) -> dict[str, Any]:
    keys = ("step", "evaluation_id", "pass_at_1", "pass_at_1_ci", "pass_at_k", "maj_at_k", "samples")
    return {**{k: m[k] for k in keys}, "loss": c.loss}


def _starts_server(spec: TeacherSpec) -> bool:
    return spec.backend == "vllm" and not spec.base_url


def _served_prompt(spec: TeacherSpec, convo: list[dict]) -> str | None:
    """The prompt as the model was served it, decoded with its own tokenizer: what the vLLM server this
    worker started rendered, or the local tokenizer's render. A student evaluated under another template
    than it was trained with scores noise; this puts the template in the report. None for an endpoint,
    or where it cannot be had (logged: the scores stand without it)."""
    try:
        if _starts_server(spec):
            server = current()
            if server is None or server.spec.model != spec.model:
                return None
            from transformers import AutoTokenizer

            tok = AutoTokenizer.from_pretrained(spec.model)
            # transformers types decode as str | list[str]: one sequence of ids decodes to a str
            return tok.decode(server.render(convo), skip_special_tokens=False)  # type: ignore[return-value]
        if spec.backend == "transformers_local":
            from workers.teachers.transformers_local import load, prompt_text

            device, dtype = str(spec.settings.get("device", "auto")), str(spec.settings.get("dtype", "auto"))
            return prompt_text(load(spec.model, device, dtype).tok, convo)
    except Exception as exc:  # noqa: BLE001 - a report line, never worth failing the evaluation
        log.warning("evaluate: the served prompt of %s is unknown: %s", spec.model, exc)
    return None


def _check_complete(c: Contender, answers: dict[int, list], expected: int) -> None:
    """A score over answers that never came would be a false number: fail with the model's error."""
    failed = [comp for comps in answers.values() for comp in comps if not comp.ok]
    got = sum(len(comps) for comps in answers.values()) - len(failed)
    if got < expected:
        why = failed[0].error if failed else "no answer came back"
        raise Invalid(
            f"evaluate: {c.label} ({c.model}) answered {got} of {expected} samples: {why}",
            code="eval_model_failed",
        )


class Truth(NamedTuple):
    """What an answer to one prompt is checked against: a reference (math) and/or tests (code)."""

    reference: str | None
    tests: Any


def choose_verifiers(settings: EvalSettings, recipe: dict, prompts) -> tuple[VerifierCombo, str]:
    """(the verifiers, where they came from): evaluate.verifiers, else the run's filter stage's, else
    what the prompt set holds (tests: code; references: math); none of these: refused, saying so,
    rather than a silent math verifier scoring code 0%."""
    if settings.verifiers:
        return settings.verifiers, "evaluate.verifiers"
    if "filter" in recipe.get("stages", []):
        return settings_for("filter", recipe, FilterSettings).verifiers, "the run's filter stage"
    tests = sum(t.tests is not None for _, _, t in prompts)
    refs = sum(t.reference is not None for _, _, t in prompts)
    if tests and tests >= refs:
        return VerifierCombo(verifiers=[{"name": "code"}]), f"the prompt set ({tests} prompts with tests)"
    if refs:
        return VerifierCombo(verifiers=[{"name": "math"}]), f"the prompt set ({refs} prompts with references)"
    raise Invalid(
        "evaluate: no verifier fits: the run has no filter stage and the prompt set has neither tests "
        "nor references; set evaluate.verifiers (e.g. format, regex or json) or import tests or references",
        code="eval_no_verifier",
    )


def stated_answer(v) -> str | None:
    """The answer a verdict extracted (maj@k votes on it), from whichever part extracted one: the
    order of the verifiers in a combo must not matter ([math, format] as [format, math])."""
    for part in (*v.parts, v) if v.parts else (v,):
        if part.detail.get("answer") is not None:
            return part.detail["answer"]
    return None


def _score(
    ctx, c: Contender, prompts, answers, chosen, settings, sampling, versions, project_id, pset_id, served
):
    combo, combo_source = chosen
    flat: list[tuple[int, int, Any, Truth]] = []
    for pid, _, truth in prompts:
        for j, comp in enumerate(answers.get(pid, [])):
            flat.append((pid, j, comp, truth))
    items = [
        Item(
            completion=comp.content or "",
            reasoning=comp.reasoning,
            finish_reason=comp.finish_reason,
            reference=truth.reference,
            tests=truth.tests,
        )
        for _, _, comp, truth in flat
    ]
    verdicts = verify_many(combo, items) if items else []
    per_prompt: dict[int, list[tuple[str | None, bool]]] = {pid: [] for pid, _, _ in prompts}
    lengths: list[tuple[int | None, bool]] = []
    rows = []
    for (pid, j, comp, _), v in zip(flat, verdicts, strict=True):
        answer = stated_answer(v)
        per_prompt[pid].append((answer, v.passed is True))
        lengths.append((reasoning_token_count(comp), v.passed is True))
        rows.append(
            {
                "prompt_id": pid,
                "sample": j,
                "content": storable(comp.content),
                "reasoning": storable(comp.reasoning),
                "finish_reason": comp.finish_reason,
                "completion_tokens": comp.completion_tokens,
                "answer": storable(answer),
                "status": v.status,
                "passed": v.passed,
            }
        )
    endpoint = {"backend": c.spec.backend, "base_url": c.spec.base_url} if c.spec.base_url else None
    config = ch.config_of(model=c.model, endpoint=endpoint, sampling={**sampling.as_dict(), "k": settings.k},
                          verifiers=versions)  # fmt: skip
    if not c.spec.base_url and (c.spec.backend != "transformers_local" or c.spec.settings):
        # vLLM's kernels and a dtype change the numbers; the default engine adds no key, so hashes of
        # earlier transformers_local evaluations stay comparable
        config["engine"] = {"backend": c.spec.backend, "settings": c.spec.settings}
    tokens = [r["completion_tokens"] or 0 for r in rows]
    metrics = {
        "label": c.label,
        "role": c.role,
        "model": c.model,
        "params": ch.local_params(c.model),
        "samples": len(rows),
        **score(per_prompt, resamples=settings.bootstrap, seed=settings.seed),
        "mean_output_tokens": round(sum(tokens) / len(tokens), 2) if tokens else 0.0,
        "truncation_rate": round(sum(r["finish_reason"] == "length" for r in rows) / len(rows), 4)
        if rows
        else 0.0,
        "config_hash": ch.config_hash(config),
        "backend": c.spec.backend,
        "served_prompt": served,
        "verifiers": list(versions),
        "verifiers_source": combo_source,
        "reasoning_length": reasoning_length_report(
            lengths, bins=settings.length_bins, cutoffs=settings.length_cutoffs
        ),
        "step": c.step,
    }
    with session_scope() as s:
        # A stage that runs again (a lost worker, a cancel then a re-queue) replaces what an earlier
        # attempt wrote for this model, in the transaction that writes the new row (its answers go by
        # cascade); the unique (stage, label) says it cannot be two.
        s.execute(delete(Evaluation).where(Evaluation.stage_id == ctx.stage_id, Evaluation.label == c.label))
        ev = Evaluation(
            project_id=project_id,
            run_id=ctx.run_id,
            stage_id=ctx.stage_id,
            artifact_id=c.artifact_id,
            label=c.label,
            model=c.model[:300],
            role=c.role,
            step=c.step,
            prompt_set_id=pset_id,
            verifier=",".join(versions),
            config=config,
            config_hash=metrics["config_hash"],
        )
        s.add(ev)
        s.flush()
        metrics["evaluation_id"] = ev.id
        ev.metrics = metrics
        if rows:
            s.execute(EvalSample.__table__.insert(), [{**r, "evaluation_id": ev.id} for r in rows])
    return metrics


def _compare(scores: list[dict]) -> dict[str, float | None]:
    by_role = {m["role"]: m for m in scores}
    student, base, teacher = by_role.get("student"), by_role.get("base"), by_role.get("teacher")
    ratio = None
    if student and teacher and student["params"] and teacher["params"]:
        ratio = round(teacher["params"] / student["params"], 2)
    return {
        "param_ratio": ratio,
        "gap_to_teacher": round(student["pass_at_1"] - teacher["pass_at_1"], 4)
        if student and teacher
        else None,
        "gain_over_base": round(student["pass_at_1"] - base["pass_at_1"], 4) if student and base else None,
    }


@celery_app.task(name=STAGES["evaluate"].task, bind=True)
def evaluate_stage(self, stage_id: int) -> None:
    run_stage(stage_id, self.request.id, evaluate)
