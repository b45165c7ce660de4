"""On-policy distillation: the student samples a completion for each of the snapshot's prompts and the
teacher scores the student's own tokens (beta 0: forward KL, 1: reverse KL). That needs the teacher's
scores over the same vocabulary, so the teacher shares the student's tokenizer. Where the teacher runs
follows the run's teacher: transformers_local is loaded in this process (TRL's DistillationTrainer, the
teacher's full distribution); a vllm teacher's server is started by this worker, and an endpoint is asked
over HTTP (served.py: the teacher's top-k prompt logprobs, TRL's ServerDistillationTrainer's loss)."""

from __future__ import annotations

from backend.core.db import session_scope
from backend.core.errors import Invalid
from backend.runs.models import Run
from backend.teachers.models import Teacher
from backend.training.schemas import DistillSettings
from workers.teachers.factory import TeacherSpec, teacher_spec
from workers.training import grpo, routed_distill, served
from workers.training.config import common_args
from workers.training.data import SnapshotRef
from workers.training.student import load_model, load_tokenizer


def teacher_of(run_id: int) -> TeacherSpec:
    with session_scope() as s:
        run = s.get_one(Run, run_id)
        teacher = s.get(Teacher, run.teacher_id) if run.teacher_id else None
        if teacher is None:
            raise Invalid("distill needs the run's teacher, and it has none", code="teacher_missing")
        return teacher_spec(teacher)  # a model the worker loads is resolved and checked here


def local(spec: TeacherSpec) -> bool:
    return spec.backend == "transformers_local" and not spec.base_url


def prepare(settings: DistillSettings, snap: SnapshotRef, tokenizer, model_max: int | None, ctx=None):
    if settings.teachers:  # several teachers routed by prompt
        return _prepare_routed(settings, snap, tokenizer, model_max, ctx)
    import datasets

    spec = teacher_of(ctx.run_id)
    if local(spec):
        served.same_vocabulary(tokenizer, load_tokenizer(spec.model), f"its model {spec.model}")
    rows, report = grpo.checked_prompts(settings, snap, tokenizer, model_max)
    if local(spec):
        report.combo = spec.model  # the teacher to load in build
    elif report.keep and not report.failures:  # a failed check refuses before any server starts
        first = rows[report.keep[0]]["prompt"]
        ids = tokenizer.apply_chat_template(
            first, add_generation_prompt=True, tokenize=True, return_dict=False
        )
        report.combo = served.preflight(spec, settings, tokenizer, list(ids))
    return datasets.Dataset.from_list([{"prompt": rows[i]["prompt"]} for i in report.keep]), report


def _prepare_routed(settings: DistillSettings, snap: SnapshotRef, tokenizer, model_max: int | None, ctx):
    """prepare() with train.teachers: each kept prompt routed to its teacher (routed_distill.py); every
    teacher passes the one-teacher pre-flight (vocabulary; a served one's self-test too)."""
    import datasets

    rows, report = grpo.checked_prompts(settings, snap, tokenizer, model_max)
    kept = [rows[i] for i in report.keep]
    routing = routed_distill.routing_of(ctx.run_id, settings, [r["prompt_id"] for r in kept])
    assert routing is not None  # settings.teachers is set
    where = lambda i: "recipe.teacher_id" if i == 0 else "recipe.train.teachers"  # noqa: E731
    kinds = {local(spec) for spec in routing.specs}
    if len(kinds) > 1:
        names = ", ".join(
            f"{n} ({'local' if local(sp) else 'served'})"
            for n, sp in zip(routing.names, routing.specs, strict=True)
        )
        raise Invalid(
            f"distill: the routed teachers must all be local (transformers_local) or all served; got {names}",
            code="teachers_mixed",
            fields=[{"path": "recipe.train.teachers", "message": "local and served teachers mixed"}],
        )
    if kinds == {True}:
        for i, spec in enumerate(routing.specs):
            served.same_vocabulary(
                tokenizer, load_tokenizer(spec.model), f"{where(i)} {routing.names[i]}: {spec.model}"
            )
        routing.combo = [spec.model for spec in routing.specs]
    elif report.keep and not report.failures:
        first = kept[0]["prompt"]
        ids = tokenizer.apply_chat_template(
            first, add_generation_prompt=True, tokenize=True, return_dict=False
        )
        started: list[served.Served] = []
        try:
            for spec in routing.specs:
                started.append(served.preflight(spec, settings, tokenizer, list(ids)))
        except BaseException:
            for s in started:
                s.release()
            raise
        routing.combo = started
    report.combo = routing
    report.info["teachers"] = routing.summary()
    data = [
        {"prompt": r["prompt"], routed_distill.INDEX: t} for r, t in zip(kept, routing.index, strict=True)
    ]
    return datasets.Dataset.from_list(data), report


def build(
    settings: DistillSettings, model, tokenizer, dataset, report, output_dir: str, callbacks, peft_config
):
    common = {"train_dataset": dataset, "processing_class": tokenizer, "callbacks": callbacks}
    if isinstance(report.combo, routed_distill.Routing):
        return _build_routed(settings, model, report.combo, output_dir, peft_config, common)
    if isinstance(report.combo, served.Served):
        from trl.experimental.server_distillation import ServerDistillationConfig

        args = ServerDistillationConfig(
            **common_args(settings, output_dir),
            beta=settings.beta,
            max_completion_length=settings.max_completion_length,
            teacher_model_server_url=report.combo.root,
            loss_top_k=settings.teacher_top_k,
        )
        trainer = served.trainer_class()
        return trainer(served=report.combo, model=model, args=args, peft_config=peft_config, **common)

    from trl import DistillationConfig, DistillationTrainer

    local_args = DistillationConfig(
        **common_args(settings, output_dir),
        beta=settings.beta,
        max_completion_length=settings.max_completion_length,
    )
    return DistillationTrainer(
        model=model,
        teacher_model=load_model(report.combo),
        args=local_args,
        peft_config=peft_config,
        **common,
    )


def _build_routed(settings: DistillSettings, model, routing, output_dir: str, peft_config, common):
    if routing.combo and isinstance(routing.combo[0], served.Served):
        from trl.experimental.server_distillation import ServerDistillationConfig

        args = ServerDistillationConfig(
            **common_args(settings, output_dir),
            beta=settings.beta,
            max_completion_length=settings.max_completion_length,
            teacher_model_server_url=routing.combo[0].root,
            loss_top_k=settings.teacher_top_k,
        )
        trainer = routed_distill.served_trainer_class(served.trainer_class())
        kw = {"model": model, "args": args, "peft_config": peft_config, **common}
        return trainer(served_all=routing.combo, routing=routing, **kw)
    from trl import DistillationConfig

    local_args = DistillationConfig(
        **common_args(settings, output_dir),
        beta=settings.beta,
        max_completion_length=settings.max_completion_length,
    )
    trainer_class = routed_distill.local_trainer_class()
    return trainer_class(
        teacher_models=[load_model(m) for m in routing.combo],
        routing=routing,
        model=model,
        args=local_args,
        peft_config=peft_config,
        **common,
    )
