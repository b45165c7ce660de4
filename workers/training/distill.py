"""On-policy distillation: TRL's DistillationConfig + DistillationTrainer. The student samples a
completion for each of the snapshot's prompts and the teacher scores the student's own tokens
(beta 0: forward KL, 1: reverse KL). That needs the teacher's logits over the same vocabulary, so the
teacher is a local model with the student's tokenizer (the API refuses an endpoint teacher)."""

from __future__ import annotations

from backend.core.db import session_scope
from backend.core.errors import Invalid
from backend.runs.models import Run
from backend.teachers.models import Teacher
from backend.teachers.schemas import runs_locally
from backend.training.model_refs import resolve_model
from backend.training.schemas import DistillSettings
from workers.training import grpo
from workers.training.config import common_args
from workers.training.data import SnapshotRef
from workers.training.student import load_model, load_tokenizer


def teacher_path(run_id: int) -> str:
    with session_scope() as s:
        run = s.get(Run, run_id)
        teacher = s.get(Teacher, run.teacher_id) if run.teacher_id else None
        if teacher is None or not runs_locally(teacher.backend, teacher.base_url):
            raise Invalid(
                "distill needs a local teacher (transformers_local): its logits score the student's tokens",
                code="teacher_not_local",
            )
        return resolve_model(s, run.project_id, teacher.model, field=f"teacher {teacher.name!r}: model")


def same_tokenizer(student_tok, teacher_tok) -> None:
    if student_tok.get_vocab() != teacher_tok.get_vocab():
        raise Invalid(
            "distill: the teacher's tokenizer differs from the student's, so its logits cannot score the "
            "student's tokens; pick a teacher of the same family (same vocabulary)",
            code="tokenizer_mismatch",
        )


def prepare(settings: DistillSettings, snap: SnapshotRef, tokenizer, model_max: int | None, ctx=None):
    import datasets

    path = teacher_path(ctx.run_id)
    same_tokenizer(tokenizer, load_tokenizer(path))
    rows, report = grpo.checked_prompts(settings, snap, tokenizer, model_max)
    report.combo = path  # the teacher to load in build
    return datasets.Dataset.from_list([{"prompt": rows[i]["prompt"]} for i in report.keep]), report


def build(
    settings: DistillSettings, model, tokenizer, dataset, report, output_dir: str, callbacks, peft_config
):
    from trl import DistillationConfig, DistillationTrainer

    args = DistillationConfig(
        **common_args(settings, output_dir),
        beta=settings.beta,
        max_completion_length=settings.max_completion_length,
    )
    return DistillationTrainer(
        model=model,
        teacher_model=load_model(report.combo),
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=callbacks,
        peft_config=peft_config,
    )
