"""Imports every domain's models so Base.metadata is complete (Alembic env and tests use this)."""

from backend.core.db import Base
from backend.datasets.models import DatasetSnapshot, ModelArtifact
from backend.evals.models import BenchmarkResult, EvalSample, Evaluation
from backend.experiments.models import Experiment
from backend.hub.models import HubPush, HubSettings
from backend.jobs.models import Job
from backend.judge.models import JudgeCache, Rubric
from backend.prices.models import Price
from backend.projects.models import Invitation, InvitationStatus, Membership, Project, Role
from backend.prompts.models import Prompt, PromptSearch, PromptSet
from backend.reviews.models import HumanLabel, Review, ReviewCount, ReviewTask
from backend.rollouts.models import ResponseCache
from backend.runs.models import Run, RunStage, StageChunk, Status
from backend.samples.models import Generation, Verdict
from backend.serving.models import ServedModel
from backend.teachers.models import Teacher
from backend.users.models import ApiToken, LoginThrottle, User

__all__ = [
    "ApiToken",
    "Base",
    "BenchmarkResult",
    "DatasetSnapshot",
    "EvalSample",
    "Evaluation",
    "Experiment",
    "Generation",
    "HubPush",
    "HubSettings",
    "HumanLabel",
    "Invitation",
    "InvitationStatus",
    "JudgeCache",
    "Job",
    "LoginThrottle",
    "Membership",
    "ModelArtifact",
    "Project",
    "Prompt",
    "PromptSearch",
    "PromptSet",
    "Price",
    "ResponseCache",
    "Review",
    "ReviewCount",
    "ReviewTask",
    "Role",
    "Rubric",
    "Run",
    "ServedModel",
    "RunStage",
    "StageChunk",
    "Status",
    "Teacher",
    "User",
    "Verdict",
]
