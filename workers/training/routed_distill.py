"""On-policy distillation from several teachers routed by prompt (train.teachers), after TRL's
multi-teacher on-policy distillation, whose rows carry a `teacher_id` column: each of the snapshot's
prompts is routed by its metadata (backend/teachers/routing.py), the dataset carries the teacher's
index, and the student's sample of a prompt is scored by that teacher only.

Local teachers (TRL's DistillationTrainer): the loss of a batch is the sum of each teacher's rows'
loss, each computed by TRL's own `_compute_loss` with that teacher in place (the loss is normalised by
the batch's completion tokens, so the sum is the batch's loss). Served teachers (TRL's
ServerDistillationTrainer through served.py): the logprob client sends each sequence to its teacher's
server and puts the answers back in the batch's order."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from backend.core.db import session_scope
from backend.core.errors import Invalid
from backend.prompts.models import Prompt, PromptSet
from backend.runs.models import Run
from backend.teachers.models import Teacher
from backend.teachers.routing import route_of
from backend.training.schemas import DistillSettings
from workers.teachers.factory import TeacherSpec, teacher_spec

INDEX = "teacher_index"  # the dataset's column: which of the routed teachers scores the row


@dataclass
class Routing:
    """The teachers (the run's teacher, the default, first) and each kept row's teacher index."""

    ids: list[int]
    specs: list[TeacherSpec]
    names: list[str]
    index: list[int] = field(default_factory=list)
    prompt_ids: list[int] = field(default_factory=list)
    scored: Counter[int] = field(default_factory=Counter)  # teacher index -> samples scored
    combo: Any = None  # the local teachers' model paths, or the Served of each

    def summary(self) -> list[dict[str, Any]]:
        prompts = Counter(self.index)
        return [
            {"teacher_id": tid, "name": name, "model": spec.model, "prompts": prompts[i],
             "scored": self.scored[i]}
            for i, (tid, name, spec) in enumerate(zip(self.ids, self.names, self.specs, strict=True))
        ]  # fmt: skip


def routing_of(run_id: int, settings: DistillSettings, prompt_ids: list[int]) -> Routing | None:
    """The routed teachers and each prompt's teacher; None without train.teachers (one teacher)."""
    if not settings.teachers:
        return None
    with session_scope() as s:
        run = s.get_one(Run, run_id)
        ids = [run.teacher_id] if run.teacher_id else []
        if not ids:
            raise Invalid("distill needs the run's teacher, and it has none", code="teacher_missing")
        ids += [r.teacher_id for r in settings.teachers if r.teacher_id not in ids]
        teachers = []
        for i, tid in enumerate(ids):
            t = s.get(Teacher, tid)
            if t is None or t.project_id != run.project_id:  # deleted since the run was made
                where = "recipe.teacher_id" if i == 0 else "recipe.train.teachers"
                raise Invalid(f"{where}: teacher {tid} no longer exists", code="teacher_missing")
            teachers.append(t)
        # the prompts' metadata, from the run's own project only (a snapshot names prompt ids)
        metas: dict[int, Any] = dict(
            s.execute(  # a Result has keys(): dict() would read it as a mapping, so its rows as tuples
                select(Prompt.id, Prompt.meta)
                .join(PromptSet, PromptSet.id == Prompt.prompt_set_id)
                .where(PromptSet.project_id == run.project_id, Prompt.id.in_(set(prompt_ids)))
            )
            .tuples()
            .all()
        )
        routing = Routing(
            ids=ids, specs=[teacher_spec(t) for t in teachers], names=[t.name for t in teachers]
        )
    routing.prompt_ids = list(prompt_ids)
    routing.index = [ids.index(route_of(settings.teachers, metas.get(pid), ids[0])) for pid in prompt_ids]
    return routing


def taught(report) -> list[dict[str, Any]] | None:
    """After training: each routed teacher's prompts and the samples it scored (None: one teacher)."""
    return report.combo.summary() if isinstance(report.combo, Routing) else None


def local_trainer_class():
    """TRL's DistillationTrainer with a teacher per row: the rows' teacher index travels with the batch
    (a tensor column, shuffled and split with the rest) and each teacher's rows are scored by it."""
    import torch
    from trl import DistillationTrainer

    class RoutedDistillationTrainer(DistillationTrainer):
        def __init__(self, *, teacher_models: list, routing: Routing, **kwargs: Any) -> None:
            super().__init__(teacher_model=teacher_models[0], **kwargs)
            self.routing = routing
            self.teachers = [self.teacher_model] + [
                self.accelerator.prepare_model(t, evaluation_mode=True) for t in teacher_models[1:]
            ]

        def _set_signature_columns_if_needed(self):
            super()._set_signature_columns_if_needed()
            if INDEX not in self._signature_columns:
                self._signature_columns = [*self._signature_columns, INDEX]

        def _generate_and_score_completions(self, inputs):
            out = super()._generate_and_score_completions(inputs)
            out[INDEX] = torch.tensor([x[INDEX] for x in inputs], device=out["prompt_ids"].device)
            return out

        def _compute_loss(self, unwrapped_student, inputs, num_items_in_batch):
            index = inputs[INDEX]
            total = entropy = valid = None
            for t in sorted(set(index.tolist())):
                rows = index == t
                part = {k: v[rows] if _per_row(v, index) else v for k, v in inputs.items()}
                self.teacher_model = self.teachers[t]
                try:
                    loss, e, n = super()._compute_loss(unwrapped_student, part, num_items_in_batch)
                finally:
                    self.teacher_model = self.teachers[0]
                if self.model.training:
                    self.routing.scored[t] += int(rows.sum())
                total = loss if total is None else total + loss
                entropy = e if entropy is None else entropy + e
                valid = n if valid is None else valid + n
            return total, entropy, valid

    return RoutedDistillationTrainer


def _per_row(v: Any, index) -> bool:
    import torch

    return isinstance(v, torch.Tensor) and v.dim() > 0 and v.shape[0] == index.shape[0]


class RoutedLogprobs:
    """TRL's get_sequence_logprobs over several servers: each sequence to its row's teacher, the answers
    put back in order. `route` is the batch's teacher indices, set by the trainer before each call."""

    def __init__(self, clients: list, routing: Routing):
        self.clients, self.routing, self.route = clients, routing, [0]
        self.base_url = clients[0].base_url

    def get_sequence_logprobs(self, sequences, prompt_lengths, **kw):
        order: dict[int, list[int]] = {}
        for i, t in enumerate(self.route):
            order.setdefault(t, []).append(i)
        merged: dict[str, list] = {}
        for t, rows in order.items():
            got = self.clients[t].get_sequence_logprobs(
                [sequences[i] for i in rows], [prompt_lengths[i] for i in rows], **kw
            )
            for key, values in got.items():
                slot = merged.setdefault(key, [None] * len(sequences))
                for i, v in zip(rows, values, strict=True):
                    slot[i] = v
            self.routing.scored[t] += len(rows)
        return merged


def served_trainer_class(base):
    """served.trainer_class()'s trainer with a client per routed teacher."""
    from workers.training import served

    class RoutedServedTrainer(base):
        def __init__(self, *, served_all: list, routing: Routing, **kwargs: Any) -> None:
            super().__init__(served=served_all[0], **kwargs)
            self.routing = routing
            self._all = served_all
            self.teacher_client = RoutedLogprobs([served.endpoint_logprobs(s) for s in served_all], routing)

        def _set_signature_columns_if_needed(self):
            super()._set_signature_columns_if_needed()
            if INDEX not in self._signature_columns:
                self._signature_columns = [*self._signature_columns, INDEX]

        def _generate_and_score_completions(self, inputs):
            import torch

            out = super()._generate_and_score_completions(inputs)
            out[INDEX] = torch.tensor([x[INDEX] for x in inputs], device=out["prompt_ids"].device)
            return out

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            self.teacher_client.route = inputs[INDEX].tolist()
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)

        def train(self, *args: Any, **kwargs: Any):
            try:
                return super().train(*args, **kwargs)
            finally:
                for s in self._all[1:]:
                    s.release()

    return RoutedServedTrainer
