"""Experiments: create one over chosen runs, derive them from runs sharing a prompt set and an
evaluation set, and read one as a table (scores with intervals, cost, cost per point gained)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from backend.core.errors import Conflict, Invalid, NotFound
from backend.evals.metrics import paired_difference
from backend.evals.models import EvalSample, Evaluation
from backend.experiments import factors as fx
from backend.experiments.models import Experiment
from backend.experiments.schemas import (
    Difference,
    ExperimentCreate,
    ExperimentDetail,
    ExperimentOut,
    ExperimentRow,
    Factor,
    Score,
)
from backend.projects.models import Project
from backend.prompts.models import PromptSet
from backend.runs import cost
from backend.runs.models import Run, RunStage
from backend.teachers.models import Teacher
from backend.users.models import User

BOOTSTRAP = 1000
GPU_STAGES = ("train", "score")  # besides the rollout's own gpu_seconds: what building the student took


def list_experiments(session: Session, *, project: Project) -> list[Experiment]:
    return list(
        session.scalars(select(Experiment).where(Experiment.project_id == project.id).order_by(Experiment.id))
    )


def get_experiment(session: Session, *, project: Project, experiment_id: int) -> Experiment:
    exp = session.get(Experiment, experiment_id)
    if exp is None or exp.project_id != project.id:
        raise NotFound(f"experiment {experiment_id} not found")
    return exp


def check_free_name(session: Session, project: Project, name: str) -> None:
    taken = session.scalar(
        select(Experiment.id).where(Experiment.project_id == project.id, Experiment.name == name)
    )
    if taken is not None:
        raise Conflict(f"an experiment named {name!r} exists in this project", code="name_taken",
                       fields=[{"path": "body.name", "message": "taken"}])  # fmt: skip


def _runs_sharing(session: Session, project: Project, run_ids: list[int]) -> tuple[list[Run], dict[str, Any]]:
    """The runs, each of this project (404 otherwise) with an evaluate stage over one evaluation set."""
    if len(set(run_ids)) != len(run_ids):
        raise Invalid(
            "run_ids: a run appears twice", fields=[{"path": "body.run_ids", "message": "duplicate"}]
        )
    runs = {
        r.id: r for r in session.scalars(select(Run).where(Run.id.in_(run_ids), Run.project_id == project.id))
    }
    shared: dict[str, Any] | None = None
    out = []
    for i, rid in enumerate(run_ids):
        run = runs.get(rid)
        if run is None:
            raise NotFound(f"run_ids.{i}: run {rid} not found",
                           fields=[{"path": f"body.run_ids.{i}", "message": "not found"}])  # fmt: skip
        es = fx.eval_set(run.recipe or {})
        where = [
            {"path": f"body.run_ids.{i}", "message": "no evaluate stage" if es is None else "other eval set"}
        ]
        if es is None:
            raise Invalid(f"run_ids.{i}: run {rid} has no evaluate stage: nothing to compare", fields=where)
        if shared is not None and es != shared:
            raise Invalid(
                f"run_ids.{i}: run {rid} was evaluated on {fx.describe_eval_set(es)}, the first run on "
                f"{fx.describe_eval_set(shared)}: scores on other prompts do not compare",
                fields=where,
            )
        shared = es
        out.append(run)
    assert shared is not None
    return out, shared


def create_experiment(
    session: Session, *, project: Project, user: User | None, data: ExperimentCreate
) -> Experiment:
    runs, es = _runs_sharing(session, project, list(data.run_ids))
    check_free_name(session, project, data.name)
    exp = Experiment(
        project_id=project.id, name=data.name, kind="compare", prompt_set_id=runs[0].prompt_set_id,
        eval_set=es, run_ids=[r.id for r in runs], settings={}, auto=False,
        created_by=user.id if user else None,
    )  # fmt: skip
    session.add(exp)
    session.flush()
    return exp


def derive(session: Session, *, project: Project) -> list[Experiment]:
    """One automatic experiment per prompt set and evaluation set that two or more runs share (the
    pressure tests' own runs left out); an existing automatic one is brought up to date."""
    pressure_runs = {
        rid for e in list_experiments(session, project=project) if e.kind == "pressure" for rid in e.run_ids
    }
    groups: dict[str, list[Run]] = {}
    for run in session.scalars(select(Run).where(Run.project_id == project.id).order_by(Run.id)):
        es = fx.eval_set(run.recipe or {})
        if es is not None and run.id not in pressure_runs:
            groups.setdefault(repr(sorted(es.items())), []).append(run)
    existing = [e for e in list_experiments(session, project=project) if e.auto]
    out = []
    for runs in groups.values():
        if len(runs) < 2:
            continue
        es = fx.eval_set(runs[0].recipe)
        exp = next((e for e in existing if e.eval_set == es), None)
        if exp is None:
            pset = session.get(PromptSet, runs[0].prompt_set_id)
            title = f"{pset.name} v{pset.version}" if pset else "runs"
            name = f"{title}: {fx.describe_eval_set(es or {})}"
            if session.scalar(
                select(Experiment.id).where(Experiment.project_id == project.id, Experiment.name == name)
            ):
                name = f"{name} (derived)"
            exp = Experiment(project_id=project.id, name=name[:200], kind="compare", auto=True,
                             prompt_set_id=runs[0].prompt_set_id, eval_set=es, settings={})  # fmt: skip
            session.add(exp)
        exp.run_ids = [r.id for r in runs]
        out.append(exp)
    session.flush()
    return out


def shares(session: Session, evaluation_ids: list[int]) -> dict[int, dict[int, float]]:
    """Per evaluation, per prompt: the share of its samples that passed."""
    out: dict[int, dict[int, float]] = {e: {} for e in evaluation_ids}
    if not evaluation_ids:
        return out
    passed = func.avg(case((EvalSample.passed.is_(True), 1.0), else_=0.0))
    for eid, pid, share in session.execute(
        select(EvalSample.evaluation_id, EvalSample.prompt_id, passed)
        .where(EvalSample.evaluation_id.in_(evaluation_ids))
        .group_by(EvalSample.evaluation_id, EvalSample.prompt_id)
    ):
        out[eid][pid] = float(share)
    return out


def score_of(ev: Evaluation | None) -> Score | None:
    m = (ev.metrics or {}) if ev is not None else {}
    if ev is None or "pass_at_1" not in m:
        return None
    return Score(label=ev.label or ev.role, evaluation_id=ev.id, pass_at_1=m["pass_at_1"],
                 pass_at_1_ci=m.get("pass_at_1_ci") or [m["pass_at_1"], m["pass_at_1"]])  # fmt: skip


def difference(session: Session, a: Score | None, b: Score | None, *, seed: int = 0) -> Difference | None:
    """a minus b, paired over the prompts both answered."""
    if a is None or b is None:
        return None
    got = shares(session, [a.evaluation_id, b.evaluation_id])
    d = paired_difference(got[a.evaluation_id], got[b.evaluation_id], resamples=BOOTSTRAP, seed=seed)
    return Difference(**d)


def _by_role(evals: list[Evaluation]) -> dict[str, Evaluation]:
    out: dict[str, Evaluation] = {}
    for e in evals:  # in the order they were made: a run's later student (its last) wins
        out[e.role] = e
    return out


def _gpu_seconds(session: Session, run: Run) -> float:
    rollout = float(((run.summary or {}).get("rollout") or {}).get("gpu_seconds") or 0.0)
    stages = session.scalars(select(RunStage).where(RunStage.run_id == run.id, RunStage.kind.in_(GPU_STAGES)))
    return round(rollout + sum(s.running_seconds() for s in stages), 2)


def _per_point(amount: float, gain: Difference | None) -> float | None:
    """Cost over points gained; none where nothing was gained (a cost per a loss means nothing)."""
    if gain is None or gain.difference is None or gain.difference <= 0:
        return None
    return round(amount / (gain.difference * 100), 4)


def _factor_value(session: Session, path: str, value: Any) -> Any:
    if path == "teacher_id" and value is not None:
        t = session.get(Teacher, value)
        return t.name if t else f"teacher {value}"
    return value


def detail(session: Session, exp: Experiment) -> ExperimentDetail:
    from backend.experiments.pressure import pressure_result  # the pressure test reads this module's tables

    by_id = {r.id: r for r in session.scalars(select(Run).where(Run.id.in_(exp.run_ids or [])))}
    runs = [by_id[i] for i in exp.run_ids or [] if i in by_id and by_id[i].project_id == exp.project_id]
    evals: dict[int, dict[str, Evaluation]] = {r.id: {} for r in runs}
    for e in session.scalars(
        select(Evaluation).where(Evaluation.run_id.in_([r.id for r in runs])).order_by(Evaluation.id)
    ):
        evals[e.run_id][e.role] = e  # type: ignore[index]
    shared_base = next((score_of(evals[r.id].get("base")) for r in runs if evals[r.id].get("base")), None)
    found = fx.factors([r.recipe or {} for r in runs])
    rows = []
    for i, run in enumerate(runs):
        mine = evals[run.id]
        student, base = score_of(mine.get("student")), score_of(mine.get("base")) or shared_base
        gain = difference(session, student, base)
        usd, gpu = round(cost.teacher_cost_usd(run.summary), 6), _gpu_seconds(session, run)
        rows.append(
            ExperimentRow(
                run_id=run.id,
                run_name=run.name,
                status=str(run.status.value),
                factors={f["path"]: _factor_value(session, f["path"], f["values"][i]) for f in found},
                student=student,
                base=base,
                teacher=score_of(mine.get("teacher")),
                gain=gain,
                teacher_usd=usd,
                gpu_seconds=gpu,
                usd_per_point=_per_point(usd, gain),
                gpu_seconds_per_point=_per_point(gpu, gain),
            )  # fmt: skip
        )
    head = ExperimentOut.model_validate(exp).model_dump()
    return ExperimentDetail(
        **head,
        eval_set_label=fx.describe_eval_set(exp.eval_set or {}),
        factors=[Factor(name=f["name"], path=f["path"]) for f in found],
        rows=rows,
        pressure=pressure_result(session, exp, runs) if exp.kind == "pressure" else None,
    )
