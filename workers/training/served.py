"""On-policy distillation against a teacher served by vLLM: the student samples, the server scores the
samples (vLLM's /v1/completions with `prompt_logprobs`: the teacher's top-k logprobs at every token of
prompt + completion, sent as token ids), and TRL's ServerDistillationTrainer turns them into its sparse
top-1 / top-k KL. TRL's own client (VLLMClient.get_sequence_logprobs) already speaks this request to
any vLLM OpenAI-compatible server, but its constructor imports vllm, which lives in its own environment
here (workers/teachers/vllm_server.py), and it sends no API key: EndpointLogprobs keeps its request and
its parsing and replaces only the construction and the HTTP calls.

The pre-flight refuses a teacher whose scores cannot mean anything for this student, before training:
its vocabulary is not the student's (a vllm teacher's model folder is compared whole; an endpoint
tokenizes a sample of the student's vocabulary through its /tokenize, which must give the student's
ids), or its scores are noise (the same text scored twice differs by more than the tolerance)."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from backend.core.egress import EgressPolicy, EgressRefused
from backend.core.errors import Invalid
from backend.training.schemas import DistillSettings
from workers.teachers.factory import TeacherSpec

log = logging.getLogger(__name__)
VOCAB_SAMPLE = 2048  # student tokens an endpoint tokenizes: a whole small vocabulary, a spread of a big one
SELF_TEST_TOKENS = 64
# a GPU host trains the student beside the server: vLLM's default 0.9 of the card would leave it nothing
SERVER_GPU_SHARE = 0.45


@dataclass(frozen=True)
class Served:
    """A teacher server: its root URL (no /v1), the model name it serves, the key it wants, and whether
    this worker started it (loopback: outside the egress policy, which is for URLs users give)."""

    root: str
    model: str
    api_key: str | None = None
    own: bool = False
    release: Callable[[], None] = lambda: None  # stops a server this worker started


def _refuse(message: str, code: str) -> Invalid:
    return Invalid(message, code=code, fields=[{"path": "recipe.teacher_id", "message": message[:200]}])


def _import_vllm_client():
    from trl.generation.vllm_client import VLLMClient

    return VLLMClient


class TeacherServerError(RuntimeError):
    """The server answered an error (status and the start of its body)."""


def endpoint_logprobs(served: Served, timeout_s: float = 300):
    """A client whose get_sequence_logprobs is TRL's, over this server (see the module's docstring)."""
    import requests

    base = _import_vllm_client()

    class EndpointLogprobs(base):  # type: ignore[misc, valid-type]  # a runtime subclass of TRL's client
        def __init__(self) -> None:  # not base's: it imports vllm and asks for TRL's own server
            self.session = requests.Session()
            self.session.trust_env = False  # no proxies from the environment: the URL is the user's
            if served.api_key:
                self.session.headers["Authorization"] = f"Bearer {served.api_key}"
            self.base_url, self.model, self.communicator = served.root, served.model, None

        def _call(self, method: str, url: str, **kw: Any) -> Any:
            # never follows a redirect (as the openai_compat client): it could lead past the egress policy
            r = self.session.request(method, url, timeout=timeout_s, allow_redirects=False, **kw)
            if r.status_code != 200:
                raise TeacherServerError(f"{method} {url} answered {r.status_code}: {r.text[:300]}")
            return r.json()

        def _post(self, url: str, **kw: Any) -> Any:
            return self._call("POST", url, **kw)

        def _get(self, url: str, **kw: Any) -> Any:
            return self._call("GET", url, **kw)

    return EndpointLogprobs()


def serve(spec: TeacherSpec) -> Served:
    """The server of a vllm teacher without base_url, started (or reused warm) in this worker process;
    else the endpoint at base_url, checked against the egress policy."""
    if spec.backend == "vllm" and not spec.base_url:
        from workers.teachers.vllm_server import VLLMServerSpec, _has_gpu, acquire, release_all

        try:
            server_spec = VLLMServerSpec.from_settings(spec.model, spec.settings)
        except ValueError as exc:
            raise _refuse(str(exc), "teacher_settings") from None
        if server_spec.gpu_memory_utilization is None and _has_gpu():
            server_spec = replace(server_spec, gpu_memory_utilization=SERVER_GPU_SHARE)
        server = acquire(server_spec)
        root = server.base_url.removesuffix("/v1")
        return Served(root, server.served_name, None, own=True, release=release_all)
    assert spec.base_url  # transformers_local never comes here; an endpoint always has one
    try:
        EgressPolicy.current().check_host_now(spec.base_url)
    except EgressRefused as exc:
        raise _refuse(f"the teacher's base_url is refused: {exc}", "egress_refused") from None
    return Served(spec.base_url.rstrip("/").removesuffix("/v1"), spec.model, spec.api_key)


def same_vocabulary(student_tok, teacher_tok, where: str) -> None:
    """The whole vocabularies (token -> id), not the names: a logprob is of an id."""
    a, b = student_tok.get_vocab(), teacher_tok.get_vocab()
    if a == b:
        return
    differ = sum(1 for t in a.keys() | b.keys() if a.get(t) != b.get(t))
    raise _refuse(
        f"distill: the teacher's tokenizer ({where}: {len(b)} tokens) differs from the student's "
        f"({len(a)} tokens; {differ} tokens differ or have other ids), so its logprobs cannot score the "
        "student's tokens; pick a teacher of the same family (same vocabulary)",
        "tokenizer_mismatch",
    )


def _vocab_probe(student_tok, prompt_ids: list[int]) -> str:
    """Text that exercises the student's vocabulary: a spread of its tokens, then a rendered prompt
    (its special tokens included)."""
    special = set(student_tok.all_special_ids)
    ids = [i for i in range(len(student_tok)) if i not in special]
    step = max(1, len(ids) // VOCAB_SAMPLE)
    return " ".join(student_tok.decode([i]) for i in ids[::step]) + "\n" + student_tok.decode(prompt_ids)


def endpoint_vocabulary(client, student_tok, prompt_ids: list[int]) -> None:
    """The endpoint's /tokenize (vLLM's) must give the student's ids for a sample of the student's
    vocabulary; an endpoint without it cannot be checked, so it is refused."""
    text = _vocab_probe(student_tok, prompt_ids)
    try:
        got = client._post(
            f"{client.base_url}/tokenize",
            json={"model": client.model, "prompt": text, "add_special_tokens": False},
        )["tokens"]
    except Exception as exc:  # noqa: BLE001 - any failure means the vocabulary cannot be known
        raise _refuse(
            f"distill: the teacher endpoint {client.base_url}'s vocabulary cannot be known: its /tokenize "
            f"failed ({type(exc).__name__}: {str(exc)[:300]}); serve the teacher with vLLM (its "
            "OpenAI-compatible server has /tokenize and prompt logprobs), or make it a vllm teacher the "
            "worker starts from the model's folder",
            "teacher_vocabulary_unknown",
        ) from None
    want = student_tok(text, add_special_tokens=False)["input_ids"]
    if list(got) != list(want):
        first = next(
            (i for i, (x, y) in enumerate(zip(got, want, strict=False)) if x != y), min(len(got), len(want))
        )
        raise _refuse(
            f"distill: the teacher endpoint tokenizes the student's vocabulary differently ({len(got)} "
            f"tokens against the student's {len(want)}, first difference at token {first}), so its "
            "logprobs cannot score the student's tokens; pick a teacher of the same family (same vocabulary)",
            "tokenizer_mismatch",
        )


def self_test(client, ids: list[int], top_k: int, tolerance: float) -> float:
    """Score the same tokens twice; the largest difference of a logprob (the actual token's and the
    top-k's) must stay within tolerance. Returns it."""
    try:
        a, b = (client.get_sequence_logprobs([ids], [1], top_logprobs=top_k) for _ in range(2))
    except Exception as exc:  # noqa: BLE001 - a server that cannot score is refused, with its answer
        raise _refuse(
            f"distill: the teacher server at {client.base_url} did not score a text with prompt logprobs "
            f"({type(exc).__name__}: {str(exc)[:300]}); on-policy distillation needs vLLM's "
            "/v1/completions with prompt_logprobs",
            "teacher_no_logprobs",
        ) from None
    pairs = [
        (x, y)
        for key in ("actual_logprobs", "logprobs")
        for pa, pb in zip(a[key][0], b[key][0], strict=True)
        for x, y in zip(pa, pb, strict=True)
    ]
    if not pairs or not all(math.isfinite(x) for x, _ in pairs[: len(ids) - 1]):
        raise _refuse(
            f"distill: the teacher server at {client.base_url} returned no logprob for the scored tokens; "
            "on-policy distillation needs vLLM's prompt_logprobs",
            "teacher_no_logprobs",
        )
    delta = max(
        abs(x - y) if math.isfinite(x) and math.isfinite(y) else (0.0 if x == y else math.inf)
        for x, y in pairs
    )
    if delta > tolerance:
        raise _refuse(
            f"distill: the teacher's logprob self-test failed: the same {len(ids)} tokens scored twice "
            f"differ by up to {delta:.4g} in a token's logprob ({len(pairs)} logprobs compared), above "
            f"train.self_test_tolerance {tolerance:g}; its scores are too noisy to distill from (a "
            "non-deterministic server: check its batch invariance, dtype or quantisation), or raise the "
            "tolerance",
            "teacher_self_test",
        )
    return delta


def preflight(spec: TeacherSpec, settings: DistillSettings, student_tok, prompt_ids: list[int]) -> Served:
    """The served teacher checked for this student (vocabulary, then the self-test), ready to train
    against; a server this worker started is stopped again when a check refuses it."""
    if spec.backend == "vllm" and not spec.base_url:
        from workers.training.student import load_tokenizer

        same_vocabulary(student_tok, load_tokenizer(spec.model), f"its model folder {spec.model}")
    served = serve(spec)
    try:
        client = endpoint_logprobs(served)
        if not served.own:
            endpoint_vocabulary(client, student_tok, prompt_ids)
        ids = prompt_ids[:SELF_TEST_TOKENS]
        delta = self_test(client, ids, settings.teacher_top_k, settings.self_test_tolerance)
    except BaseException:
        served.release()
        raise
    log.info("served teacher %s (%s): self-test max |delta logprob| %.3g", served.model, served.root, delta)
    return served


def trainer_class():
    """TRL's ServerDistillationTrainer with its teacher call on EndpointLogprobs; the loss is TRL's."""
    from trl import DistillationTrainer
    from trl.experimental.server_distillation import ServerDistillationTrainer

    class EndpointDistillationTrainer(ServerDistillationTrainer):
        def __init__(self, *, served: Served, **kwargs: Any) -> None:
            # DistillationTrainer's __init__, not ServerDistillationTrainer's: the latter builds TRL's
            # VLLMClient (which imports vllm); the three attributes it sets besides are set here
            DistillationTrainer.__init__(self, teacher_model=None, **kwargs)
            args = kwargs["args"]
            self.reverse_kl_top_1_mode = args.reverse_kl_top_1_mode
            self.loss_top_k = args.loss_top_k
            self.loss_add_tail = args.loss_add_tail
            self.teacher_client = endpoint_logprobs(served)
            self._served = served

        def train(self, *args: Any, **kwargs: Any):
            try:
                return super().train(*args, **kwargs)
            finally:  # a server this worker started frees its accelerator (or RAM) for what comes next
                self._served.release()

    return EndpointDistillationTrainer
