"""The `distillery` command: serve, worker, migrate, users, members, runs, train, hub, demo.

One concern, the command line's surface, kept in one file past 450 lines on purpose: each command here
is only its typer signature and help (what `distillery --help` and docs/cli.md show) and hands its
work to the owner's module (backend/runs/cli.py, backend/training/cli.py, backend/demo.py, ...), so the
whole surface reads in one place; logic that grows belongs in those modules, not here."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="Distillery: teacher-to-student distillation platform.", no_args_is_help=True)
users_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
app.add_typer(users_app, name="users")
prompts_app = typer.Typer(help="Manage prompt sets.", no_args_is_help=True)
app.add_typer(prompts_app, name="prompts")
runs_app = typer.Typer(help="Launch and watch runs.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
teachers_app = typer.Typer(help="Teachers.", no_args_is_help=True)
app.add_typer(teachers_app, name="teachers")
models_app = typer.Typer(
    help="Trained models: serve them with vLLM, list and stop them.", no_args_is_help=True
)
app.add_typer(models_app, name="models")
members_app = typer.Typer(help="Project members (administrators).", no_args_is_help=True)
app.add_typer(members_app, name="members")
hub_app = typer.Typer(
    help="The Hugging Face Hub: a project's token, pushing snapshots and models.", no_args_is_help=True
)
app.add_typer(hub_app, name="hub")

experiments_app = typer.Typer(help="Experiments and the pressure test.", no_args_is_help=True)
app.add_typer(experiments_app, name="experiments")
console = Console(stderr=True)


@app.command()
def migrate() -> None:
    """Upgrade the database to the newest schema."""
    from backend.core.migrate import upgrade_head

    upgrade_head()
    console.print("[green]database is at head[/green]")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    no_migrate: Annotated[bool, typer.Option("--no-migrate", help="Skip alembic upgrade head.")] = False,
    workers: Annotated[
        int, typer.Option(min=1, max=256, help="uvicorn worker processes (one per core is a good start).")
    ] = 1,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Proxies whose X-Forwarded-For is trusted for the client address (login throttling); "
            "default DISTILLERY_FORWARDED_ALLOW_IPS (127.0.0.1). Never '*' where clients reach the api "
            "directly: each could then pick its own address."
        ),
    ] = None,
) -> None:
    """Run the API and the dashboard under uvicorn (migrating first)."""
    import uvicorn

    from backend.core.config import get_settings

    if not no_migrate:
        migrate()
    uvicorn.run(
        "backend.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips or get_settings().forwarded_allow_ips,
        log_level="info",
    )


@app.command()
def worker(
    queues: Annotated[str, typer.Option(help="Comma-separated queues: cpu, gpu.")] = "cpu,gpu",
    concurrency: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    max_tasks_per_child: Annotated[int, typer.Option(help="Recycle a process after N tasks (GPU: 1).")] = 0,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
    hostname: Annotated[
        str | None, typer.Option(help="Celery node name (e.g. gpu@%h) where one host runs several workers.")
    ] = None,
) -> None:
    """Start a Celery worker on the given queues."""
    # The worker is its own program (workers/): backend only starts it, never imports it.
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.celery_app:celery_app",
        "worker",
        "-Q",
        queues,
        "--concurrency",
        str(concurrency),
        "--loglevel",
        loglevel,
        "--without-gossip",
        "--without-mingle",
    ]
    if max_tasks_per_child:
        argv += ["--max-tasks-per-child", str(max_tasks_per_child)]
    if hostname:
        argv += ["--hostname", hostname]
    os.execv(sys.executable, argv)


def _validated(model, data, options: dict[str, str]):
    """model checked against data (a dict, or JSON text); a bad value is a usage error naming its
    option (exit 2), never a pydantic traceback. `options` maps a field (or "" for all) to its option."""
    from pydantic import ValidationError

    try:
        return model.model_validate_json(data) if isinstance(data, str) else model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        where = ".".join(map(str, first["loc"])) or "value"
        raise typer.BadParameter(
            f"{where}: {first['msg']}", param_hint=options.get(field) or options.get("") or field
        ) from None


@users_app.command("create")
def users_create(
    email: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    name: str = "",
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an administrator.")] = False,
) -> None:
    """Create an account, checked as POST /api/users checks one (an address login accepts, a
    password of 8 characters or more)."""
    from backend.core.db import session_scope
    from backend.users.schemas import UserCreate
    from backend.users.service import create_user

    data = _validated(
        UserCreate,
        {"email": email, "password": password, "name": name, "is_admin": admin},
        {"email": "EMAIL", "password": "--password", "name": "--name"},
    )
    from sqlalchemy.exc import IntegrityError

    from backend.core.errors import Conflict

    taken = f"a user with email {data.email!r} already exists"
    try:
        with session_scope() as s:
            user = create_user(s, email=data.email, password=password, name=data.name, is_admin=admin)
            user_id, user_email = user.id, user.email
    except Conflict as exc:  # a usage error like the checks above: exit 2 with the message, no traceback
        raise typer.BadParameter(exc.message, param_hint="EMAIL") from None
    except IntegrityError:  # the same address created at the same moment by someone else
        raise typer.BadParameter(taken, param_hint="EMAIL") from None
    console.print(f"created user {user_id} <{user_email}>")


@members_app.command("add")
def members_add(
    project: Annotated[str, typer.Argument(help="Project name or id.")],
    email: Annotated[str, typer.Argument(help="The account's e-mail address.")],
    role: Annotated[str, typer.Option(help="viewer, reviewer, maintainer or owner.")] = "viewer",
) -> None:
    """Add an existing account to a project directly, without an invitation. This is an administrator's
    tool (it runs with the database's credentials); in the API and the dashboard an owner invites an
    address instead, and the invitee becomes a member only by accepting."""
    from backend.core.db import session_scope
    from backend.core.errors import AppError
    from backend.projects.models import Role
    from backend.projects.service import add_member, find_project

    try:
        member_role = Role(role)
    except ValueError:
        raise typer.BadParameter(f"{role!r} is not one of {', '.join(Role)}", param_hint="--role") from None
    try:
        with session_scope() as s:
            proj = find_project(s, project)
            _, user = add_member(s, project=proj, email=email, role=member_role)
            said = f"added user {user.id} <{user.email}> to project {proj.id} as {member_role.value}"
    except AppError as exc:
        raise typer.BadParameter(exc.message) from None
    console.print(said)


@prompts_app.command("import")
def prompts_import(
    file: Annotated[
        str,
        typer.Argument(
            help="JSONL, CSV or Parquet (each may be .gz), or a save_to_disk folder; with --hub, a hub "
            "dataset id (openai/gsm8k) or a local dataset repository folder."
        ),
    ],
    project: Annotated[str, typer.Option(help="Project name or id.")],
    name: Annotated[str, typer.Option(help="Prompt set name; a new version if it exists.")],
    skip_invalid: Annotated[bool, typer.Option(help="Store the valid rows and report the rest.")] = False,
    mapping: Annotated[
        str | None, typer.Option(help='JSON column mapping, e.g. {"prompt": "q", "tests": "test"}.')
    ] = None,
    dedup: Annotated[bool, typer.Option(help="Drop exact duplicates (normalised text).")] = True,
    near_dup: Annotated[float, typer.Option(help="Near-duplicate Jaccard threshold; 0 turns it off.")] = 0.8,
    decontaminate_against: Annotated[
        int | None, typer.Option(help="Prompt set id of an evaluation set to decontaminate against.")
    ] = None,
    ngram: Annotated[int, typer.Option(help="n-gram size for decontamination.")] = 8,
    eval_ratio: Annotated[float, typer.Option(help="Share of prompts in the eval split.")] = 0.0,
    hub: Annotated[bool, typer.Option(help="Read FILE with datasets.load_dataset (streamed).")] = False,
    config: Annotated[str | None, typer.Option(help="With --hub: the dataset's config.")] = None,
    split: Annotated[str, typer.Option(help="With --hub: the split to import.")] = "train",
    revision: Annotated[str | None, typer.Option(help="With --hub: a branch, tag or commit.")] = None,
) -> None:
    """Import a prompt file, or a dataset split (--hub), through the same code path as the API, with a
    progress bar."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from backend.core.config import get_settings
    from backend.core.db import session_scope
    from backend.core.errors import AppError
    from backend.projects.service import find_project
    from backend.prompts.hub import HubSource, check_source, write_spec
    from backend.prompts.importer import HUB
    from backend.prompts.schemas import CleaningOptions, ColumnMapping
    from backend.prompts.search import queue_indexing
    from backend.prompts.service import import_prompt_set

    cols = _validated(ColumnMapping, mapping, {"": "--mapping"}) if mapping else None
    source = (
        _validated(HubSource, {"dataset": file, "config": config, "split": split, "revision": revision},
                   {"config": "--config", "split": "--split", "revision": "--revision"})
        if hub else None
    )  # fmt: skip
    if source is None and not Path(file).exists():
        raise typer.BadParameter(f"{file!r} does not exist (a dataset id? add --hub)", param_hint="FILE")
    opts = _validated(
        CleaningOptions,
        {
            "dedup_exact": dedup,
            "near_dup_threshold": near_dup or None,
            "ngram": ngram,
            "decontaminate_against": decontaminate_against,
            "eval_ratio": eval_ratio,
        },
        {
            "near_dup_threshold": "--near-dup",
            "ngram": "--ngram",
            "decontaminate_against": "--decontaminate-against",
            "eval_ratio": "--eval-ratio",
        },
    )
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    ) as bar:
        label = source.label() if source else Path(file).name
        task = bar.add_task(f"importing {label}: 0 rows")
        spec: Path | None = None
        try:
            with session_scope() as s:
                try:
                    proj = find_project(s, project)
                except AppError as exc:
                    raise typer.BadParameter(exc.message, param_hint="--project") from None
                if source is not None:
                    try:
                        check_source(source, project_id=proj.id)
                    except AppError as exc:
                        raise typer.BadParameter(exc.message, param_hint="FILE") from None
                    spec = write_spec(source, project_id=proj.id, dest_dir=get_settings().uploads_dir)
                pset, report = import_prompt_set(
                    s,
                    project=proj,
                    user=None,
                    name=name,
                    path=spec or Path(file),
                    filename=label,
                    mapping=cols,
                    skip_invalid=skip_invalid,
                    options=opts,
                    on_progress=lambda n: bar.update(task, description=f"importing {label}: {n:,} rows"),
                    fmt=HUB if spec else None,
                )
                pset_id, version, stored, proj_id = pset.id, pset.version, report.rows_stored, proj.id
        except AppError as exc:
            console.print(f"[red]{exc.message}[/red]")
            for err in ((exc.details or {}).get("report") or {}).get("errors", [])[:20]:
                console.print(
                    f"  row {err['row']}: {err['field'] or '-'}: {err['message']} ({err['reason']})"
                )
            raise typer.Exit(1) from exc
        finally:
            if spec is not None:
                spec.unlink(missing_ok=True)
    # Committed: the worker fills the set's search rows (PostgreSQL; search scans prompts until then).
    queue_indexing(project_id=proj_id, prompt_set_id=pset_id, user_id=None)
    removed = ", ".join(f"{n:,} {why.replace('_', ' ')}" for why, n in report.removed.items()) or "none"
    console.print(
        f"prompt set {pset_id} ({name} v{version}): {stored:,} prompts stored, "
        f"{report.rejected:,} rejected, removed: {removed}"
    )


@prompts_app.command("index-search")
def prompts_index_search() -> None:
    """Queue search indexing for every ready prompt set not indexed yet (sets imported before migration
    0015, or whose job failed); a worker runs the jobs. Until then their search scans prompts."""
    from sqlalchemy import select

    from backend.core.db import session_scope
    from backend.prompts.models import PromptSet
    from backend.prompts.search import queue_indexing

    with session_scope() as s:
        if s.get_bind().dialect.name != "postgresql":
            console.print("SQLite: search always scans prompts; nothing to index")
            return
        todo = s.execute(
            select(PromptSet.id, PromptSet.project_id)
            .where(PromptSet.search_indexed_at.is_(None), PromptSet.status == "ready")
            .order_by(PromptSet.id)
        ).all()
    jobs = [queue_indexing(project_id=pid, prompt_set_id=sid, user_id=None) for sid, pid in todo]
    console.print(f"queued search indexing of {sum(j is not None for j in jobs)} of {len(todo)} prompt sets")


@teachers_app.command("probe")
def teachers_probe(
    project: Annotated[str, typer.Argument(help="Project name or id.")],
    teacher: Annotated[str, typer.Argument(help="Teacher name or id.")],
    wait: Annotated[bool, typer.Option(help="Wait for the probe and print what it measured.")] = True,
) -> None:
    """Measure a teacher's speed (a few short real requests, run by a worker); the rollout estimate
    uses the figures before the teacher's first run."""
    from backend.teachers.cli import follow_probe, queue_probe

    job_id = queue_probe(project, teacher, console=console)
    if wait:
        raise typer.Exit(follow_probe(job_id, console=console))


@hub_app.command("set")
def hub_set(
    project: Annotated[str, typer.Argument(help="Project name or id.")],
    endpoint: Annotated[
        str | None, typer.Option(help="The Hub's URL (default https://huggingface.co).")
    ] = None,
    token: Annotated[
        bool,
        typer.Option("--token", help="Read a write token from stdin (or a hidden prompt); stored encrypted."),
    ] = False,
    clear_token: Annotated[bool, typer.Option("--clear-token", help="Remove the project's token.")] = False,
) -> None:
    """Set the project's Hub endpoint and/or its token (write-only: never printed or returned)."""
    from backend.hub.cli import read_token, set_settings

    secret = "" if clear_token else read_token() if token else None
    raise typer.Exit(set_settings(project, endpoint=endpoint, token=secret, console=console))


@hub_app.command("push")
def hub_push(
    kind: Annotated[str, typer.Argument(help="snapshot or model.")],
    object_id: Annotated[int, typer.Argument(help="The snapshot's or model's id.")],
    project: Annotated[str, typer.Option(help="Project name or id.")],
    repo: Annotated[str, typer.Option(help="The repository: namespace/name.")],
    public: Annotated[
        bool, typer.Option("--public", help="Create the repository public (default private).")
    ] = False,
    acknowledge_terms: Annotated[
        bool, typer.Option("--acknowledge-terms", help="Push although the teacher's terms restrict it.")
    ] = False,
    wait: Annotated[bool, typer.Option(help="Follow the push job and print the repository's URL.")] = True,
) -> None:
    """Push a snapshot (dataset repository) or a trained model (model repository) to the Hub, as a job."""
    from backend.hub.cli import push

    if kind not in ("snapshot", "model"):
        raise typer.BadParameter("snapshot or model", param_hint="KIND")
    code = push(
        project,
        "snapshot" if kind == "snapshot" else "model",
        object_id,
        repo_id=repo,
        private=not public,
        acknowledge_terms=acknowledge_terms,
        wait=wait,
        console=console,
    )
    raise typer.Exit(code)


@models_app.command("serve")
def models_serve(
    project: Annotated[str, typer.Argument(help="Project name or id.")],
    model_id: Annotated[int, typer.Argument(help="The trained model's id (GET .../models).")],
    name: Annotated[
        str | None, typer.Option(help="Served name and teacher name; default student-<id>.")
    ] = None,
    adapter: Annotated[
        list[int] | None,
        typer.Option(help="Another LoRA model of the same base to serve beside it (repeat)."),
    ] = None,
    settings: Annotated[
        str, typer.Option(help="The vLLM settings as JSON, as a vllm teacher takes them.")
    ] = "{}",
    wait: Annotated[bool, typer.Option(help="Wait until it answers (or fails) and print its URL.")] = True,
) -> None:
    """Serve a trained model with vLLM on a gpu worker; once running it is a teacher of the project."""
    import json as _json

    from backend.serving.cli import follow, start
    from backend.serving.schemas import ServedStatus, ServeRequest

    try:
        parsed = _json.loads(settings)
    except ValueError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint="--settings") from None
    body = {"name": name, "adapters": adapter or [], "settings": parsed}
    request = _validated(
        ServeRequest, body, {"name": "--name", "adapters": "--adapter", "settings": "--settings"}
    )
    served_id = start(project, model_id, request, console=console)
    if wait:
        raise typer.Exit(follow(served_id, console=console, until={ServedStatus.running}))


@models_app.command("served")
def models_served(project: Annotated[str, typer.Argument(help="Project name or id.")]) -> None:
    """The project's served models, newest first, as JSON (status, URL, teacher, adapters)."""
    from backend.serving.cli import listing

    sys.stdout.write(json.dumps(listing(project), indent=2) + "\n")


@models_app.command("stop")
def models_stop(
    project: Annotated[str, typer.Argument(help="Project name or id.")],
    served_id: Annotated[int, typer.Argument(help="The served model's id (distillery models served).")],
    wait: Annotated[bool, typer.Option(help="Wait until its server is stopped.")] = True,
) -> None:
    """Stop a served model: its server ends and its teacher rows are removed."""
    from backend.serving.cli import follow, stop
    from backend.serving.schemas import ServedStatus

    stop(project, served_id, console=console)
    if wait:
        follow(served_id, console=console, until={ServedStatus.stopped, ServedStatus.failed})


@runs_app.command("create")
def runs_create(
    recipe: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The recipe, YAML or JSON.")],
    project: Annotated[str, typer.Option(help="Project name or id.")],
    name: Annotated[str, typer.Option(help="The run's name.")],
    wait: Annotated[bool, typer.Option(help="Follow the run's stages until it ends.")] = False,
) -> None:
    """Create a run from a recipe file (the same recipe the API takes) and queue it; a worker runs it."""
    from backend.runs.cli import create_from_file, follow

    run_id = create_from_file(recipe, project=project, name=name, console=console)
    if wait:
        raise typer.Exit(follow(run_id, console=console))


@runs_app.command("show")
def runs_show(run_id: Annotated[int, typer.Argument(help="Run id.")]) -> None:
    """A run's status, stages and their metrics."""
    from backend.runs.cli import show

    raise typer.Exit(show(run_id, console=console))


@runs_app.command("checkpoints")
def runs_checkpoints(run_id: Annotated[int, typer.Argument(help="Run id.")]) -> None:
    """Accuracy per training checkpoint (evaluate.checkpoints): step, pass@1 with its interval, loss."""
    from backend.runs.cli import checkpoints

    raise typer.Exit(checkpoints(run_id, console=console))


@runs_app.command("benchmarks")
def runs_benchmarks(run_id: Annotated[int, typer.Argument(help="Run id.")]) -> None:
    """A run's benchmark scores (its benchmark stage): per model and task, lm-eval's metrics."""
    from backend.evals.cli import show_benchmarks

    raise typer.Exit(show_benchmarks(run_id, console=console))


@runs_app.command("smoke")
def runs_smoke(
    run_id: Annotated[int, typer.Argument(help="Run id.")],
    go_on: Annotated[
        bool,
        typer.Option(
            "--continue/--cancel",
            help="continue: the rollout asks the teacher for the remaining prompts; cancel: the run ends.",
        ),
    ],
) -> None:
    """Decide on a rollout's smoke sample below its floor (rollout.smoke); `runs show` shows it."""
    from backend.runs.cli import decide_smoke

    raise typer.Exit(decide_smoke(run_id, go_on=go_on, console=console))


@experiments_app.command("list")
def experiments_list(project: Annotated[str, typer.Option(help="Project name or id.")]) -> None:
    """The project's experiments and pressure tests."""
    from backend.experiments.cli import list_all

    raise typer.Exit(list_all(project, console=console))


@experiments_app.command("show")
def experiments_show(
    experiment_id: Annotated[int, typer.Argument(help="Experiment id.")],
    project: Annotated[str, typer.Option(help="Project name or id.")],
) -> None:
    """An experiment's table (scores with intervals, cost, cost per point) or a pressure test's verdict."""
    from backend.experiments.cli import show

    raise typer.Exit(show(project, experiment_id, console=console))


@experiments_app.command("create")
def experiments_create(
    run_ids: Annotated[list[int], typer.Argument(help="Run ids with an evaluate stage on one eval set.")],
    project: Annotated[str, typer.Option(help="Project name or id.")],
    name: Annotated[str, typer.Option(help="The experiment's name.")],
) -> None:
    """Compare runs of one prompt set and evaluation set; the settings that differ are the factors."""
    from backend.experiments.cli import create

    raise typer.Exit(create(project, name, run_ids, console=console))


@experiments_app.command("derive")
def experiments_derive(project: Annotated[str, typer.Option(help="Project name or id.")]) -> None:
    """One experiment per prompt set and evaluation set that two or more runs share."""
    from backend.experiments.cli import derive

    raise typer.Exit(derive(project, console=console))


@experiments_app.command("pressure-test")
def experiments_pressure_test(
    project: Annotated[str, typer.Option(help="Project name or id.")],
    prompt_set: Annotated[int, typer.Option(help="Prompt set id (its eval split is sampled).")],
    teacher: Annotated[str, typer.Option(help="Teacher name or id.")],
    student: Annotated[str, typer.Option(help="The student before training: hub id, artifact:<id>, path.")],
    sample: Annotated[int, typer.Option(help="Held-out prompts to evaluate.")] = 100,
    margin: Annotated[
        float, typer.Option(help="Materially better: lower bound above this (0.05: 5 points).")
    ] = 0.05,
    max_tokens: Annotated[int, typer.Option(help="Per answer.")] = 512,
    split: Annotated[str, typer.Option(help="eval (held out), train or all.")] = "eval",
    wait: Annotated[bool, typer.Option(help="Follow the run and print the verdict.")] = True,
) -> None:
    """Before spending: does the teacher materially beat the base student? (an evaluate-only run)"""
    from backend.experiments.cli import pressure_test

    body = {"prompt_set_id": prompt_set, "student": student, "sample": sample, "margin": margin,
            "max_tokens": max_tokens, "split": split}  # fmt: skip
    raise typer.Exit(pressure_test(project, teacher, body, wait=wait, console=console))


@app.command()
def train(
    recipe: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A recipe, or just its train settings (YAML).")
    ],
    project: Annotated[str, typer.Option(help="Project name or id.")],
    name: Annotated[str, typer.Option(help="The run's name.")] = "train",
    snapshot: Annotated[int | None, typer.Option(help="Train this existing snapshot.")] = None,
    wait: Annotated[bool, typer.Option(help="Follow the run until it ends.")] = False,
) -> None:
    """Train a student: a run whose stages end with train (a gpu worker trains it)."""
    from backend.runs.cli import follow
    from backend.training.cli import create_train_run

    run_id = create_train_run(recipe, project=project, name=name, snapshot=snapshot, console=console)
    if wait:
        raise typer.Exit(follow(run_id, console=console))


@app.command()
def verify(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help='JSONL of {"completion", "reference"}.')
    ],
    verifier: Annotated[list[str], typer.Option(help="Verifier name; repeat for several.")],
    settings: Annotated[str | None, typer.Option(help="JSON settings (for one verifier), or a list.")] = None,
    mode: Annotated[str, typer.Option(help="With several verifiers: all or any must pass.")] = "all",
) -> None:
    """Verify completions from a file: one JSON verdict per line on stdout, a summary on stderr."""
    # The verifiers are worker code (sympy, the sandbox): backend starts them, never imports them.
    argv = [sys.executable, "-m", "workers.verifiers.cli", str(file), "--mode", mode]
    argv += [a for v in verifier for a in ("--verifier", v)]
    if settings is not None:
        argv += ["--settings", settings]
    os.execv(sys.executable, argv)


@app.command()
def openapi() -> None:
    """Print the OpenAPI schema (the dashboard's client is generated from it)."""
    from backend.main import create_app

    sys.stdout.write(json.dumps(create_app().openapi(), indent=1) + "\n")


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port for the API and dashboard.")] = 8000,
    keep_serving: Annotated[bool, typer.Option("--keep-serving", help="Serve until Ctrl-C.")] = False,
    seeds: Annotated[int, typer.Option(min=1, max=10, help="Train every arm with this many seeds.")] = 1,
    size: Annotated[
        str, typer.Option(help="full (the demo), or small (a quick check of the plumbing).")
    ] = "full",
    arms: Annotated[
        str,
        typer.Option(
            help="Extra arms to run besides the three, comma-separated (onpolicy); all of them from "
            "--seeds 3 up when none is named."
        ),
    ] = "",
) -> None:
    """The whole distillation on the embedded default: a tiny teacher's traces verified, a 7x smaller
    student trained on them and evaluated, with two ablations; a table and var/demo/report.json."""
    from backend.demo import extra_arms, run_demo

    if size not in ("full", "small"):
        raise typer.BadParameter("full or small", param_hint="--size")
    named = tuple(a.strip() for a in arms.split(",") if a.strip())
    try:
        extra_arms(seeds, named)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--arms") from None
    code = run_demo(port=port, keep_serving=keep_serving, console=console, seeds=seeds, size=size, arms=named)
    raise typer.Exit(code)


@app.command()
def up(port: Annotated[int, typer.Option(help="Port for the API and dashboard.")] = 8000) -> None:
    """Like demo, then keep serving the dashboard and API until Ctrl-C (the demo's runs are reused); one
    worker per queue, so a judge or a probe never waits behind a training."""
    from backend.demo import run_demo

    raise typer.Exit(run_demo(port=port, keep_serving=True, console=console))


if __name__ == "__main__":
    app()
