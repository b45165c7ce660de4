"""The transformers_local teacher: batched Hugging Face `generate` with sampling, on CPU or GPU.

For the offline demo, tests and small jobs; vLLM is the engine for real rollouts. The model loads
once per worker process; each batch runs in a worker thread so the event loop keeps writing results,
and the next batch is already generating while the caller handles the last one's.

`batch_size` counts sequences: a request with n samples is n rows of a batch (its prompt repeated),
so requests with different n share batches and every `generate` call holds at most batch_size rows,
which is what bounds memory. Requests are sorted by prompt length first, so rows padded together are
of about the same length.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from backend.core.logging import error_text
from backend.datasets.logprobs import TokenLogprobs
from workers.teachers.base import Completion, Request, Sampling, split_reasoning

ERROR_CHARS = 300
_DTYPES = {"bf16": "bfloat16", "fp16": "float16", "half": "float16", "fp32": "float32", "float": "float32"}


@dataclass
class Loaded:
    """A model in memory: its tokenizer, the ids that end a sequence, and a lock that lets one
    generate() at a time use it (the model's memory and the global RNG a seed sets are shared)."""

    tok: Any
    lm: Any
    stop_ids: frozenset[int]
    lock: threading.Lock = field(default_factory=threading.Lock)


_models: dict[tuple[str, str, str], Loaded] = {}
_lock = threading.Lock()


def resolve_device(device: str) -> str:
    """'auto' is cuda when a GPU is visible, else cpu; anything else as given (cuda:1, mps, ...)."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load(model: str, device: str = "auto", dtype: str = "auto") -> Loaded:
    """The tokenizer and model, loaded once per process for each (model, device, dtype)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = resolve_device(device)
    key = (model, device, dtype)
    with _lock:
        if key not in _models:
            tok = AutoTokenizer.from_pretrained(model)
            tok.padding_side = "left"  # generation continues from the right edge of every row
            if tok.pad_token is None:
                tok.pad_token = tok.eos_token
            if dtype == "auto":
                torch_dtype: Any = "auto"
            else:
                torch_dtype = getattr(torch, _DTYPES.get(dtype, dtype), None)
                if not isinstance(torch_dtype, torch.dtype):
                    raise ValueError(f"unknown dtype {dtype!r}: use auto, bfloat16, float16 or float32")
            # transformers wraps `to` in functools.wraps(nn.Module.to), whose type takes the model as self
            lm = AutoModelForCausalLM.from_pretrained(model, dtype=torch_dtype).to(device).eval()  # type: ignore[arg-type]
            stop_ids = {tok.eos_token_id, tok.pad_token_id, *_ids(lm.generation_config.eos_token_id)}
            _models[key] = Loaded(tok, lm, frozenset(i for i in stop_ids if i is not None))
        return _models[key]


def unload(model: str) -> None:
    """Forget a model loaded under any device and dtype (its memory goes back): a training checkpoint
    the evaluate stage is done with is never asked for again in this process."""
    with _lock:
        for key in [k for k in _models if k[0] == model]:
            del _models[key]
    _free_cuda_cache()


def prompt_text(tok, messages: list[dict[str, Any]]) -> str:
    """The prompt a conversation is served as: the chat template's render, or for a base model (no
    template) the contents one after another (its own BOS is added when tokenizing)."""
    if getattr(tok, "chat_template", None):
        return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return "\n".join(m["content"] for m in messages) + "\n"


def _ids(value: int | Iterable[int] | None) -> list[int]:
    if value is None:
        return []
    return [value] if isinstance(value, int) else list(value)


@dataclass
class _Row:
    """One sample to generate: a request's prompt, and where its completion goes."""

    slot: int  # index of the request in the call
    ids: list[int]
    opens_think: bool  # the prompt ends inside <think>: the text generated is reasoning first


class TransformersLocalTeacher:
    name = "transformers_local"

    def __init__(
        self,
        model: str,
        sampling: Sampling,
        *,
        device: str = "auto",
        batch_size: int = 16,
        dtype: str = "auto",
    ):
        self.model, self.sampling, self.device, self.dtype = model, sampling, device, dtype
        self.batch_size = max(1, batch_size)
        self._seconds = 0.0

    @property
    def gpu_seconds(self) -> float:
        """Wall seconds spent generating (loading the model is not counted)."""
        return self._seconds

    async def aclose(self) -> None:
        return None  # the model stays cached for the next chunk

    async def generate(self, requests: list[Request]) -> AsyncIterator[tuple[Request, list[Completion]]]:
        """Yield (request, its n completions) as each request's last row finishes.

        A batch that raises (a CUDA OOM, a model that does not load) gives every row it held a
        Completion with the exception as its error; nothing is dropped.
        """
        if not requests:
            return
        try:
            loaded, prompts = await asyncio.to_thread(self._prepare, requests)
        except Exception as exc:  # noqa: BLE001 - a model that cannot load fails every request, with its reason
            error = _error(exc)
            for r in requests:
                yield r, [Completion(None, error=error) for _ in range(r.n)]
            return
        done: list[list[Completion]] = [[] for _ in requests]
        rows: list[_Row] = []
        for slot, prompt in enumerate(prompts):
            if isinstance(prompt, str):  # the prompt could not be built: that request alone fails
                done[slot] = [Completion(None, error=prompt) for _ in range(requests[slot].n)]
            else:
                rows += [_Row(slot, prompt[0], prompt[1])] * requests[slot].n
        for slot, r in enumerate(requests):
            if len(done[slot]) == r.n:  # n == 0, or its prompt failed
                yield r, done[slot]
        rows.sort(key=lambda row: -len(row.ids))  # stable: a request's rows stay together
        batches = [rows[i : i + self.batch_size] for i in range(0, len(rows), self.batch_size)]
        closed = threading.Event()

        def start(index: int) -> asyncio.Future[list[Completion]]:
            return asyncio.ensure_future(asyncio.to_thread(self._run, loaded, batches[index], index, closed))

        pending = start(0) if batches else None
        try:
            for index, batch in enumerate(batches):
                assert pending is not None
                results = await pending
                # The next batch generates while the caller handles this one's results.
                pending = start(index + 1) if index + 1 < len(batches) else None
                finished: list[int] = []
                for row, completion in zip(batch, results, strict=True):
                    done[row.slot].append(completion)
                    if len(done[row.slot]) == requests[row.slot].n:
                        finished.append(row.slot)
                for slot in finished:
                    yield requests[slot], done[slot]
        finally:
            closed.set()  # a batch not yet started is skipped; one running finishes in its thread
            if pending is not None:
                pending.cancel()

    def _prepare(self, requests: list[Request]) -> tuple[Loaded, list[tuple[list[int], bool] | str]]:
        """The model, and each request's prompt ids (or why its prompt could not be built)."""
        loaded = load(self.model, self.device, self.dtype)
        tok = loaded.tok
        templated = bool(getattr(tok, "chat_template", None))
        prompts: list[tuple[list[int], bool] | str] = []
        for r in requests:
            try:
                text = prompt_text(tok, r.messages)
                ids = tok(text, add_special_tokens=not templated)["input_ids"]
                prompts.append((list(ids), text.rstrip().endswith("<think>")))
            except Exception as exc:  # noqa: BLE001 - a malformed conversation fails only its request
                prompts.append(_error(exc))
        return loaded, prompts

    def _run(
        self, loaded: Loaded, batch: list[_Row], index: int, closed: threading.Event
    ) -> list[Completion]:
        """One generate() call over a batch's rows; its exception becomes every row's error."""
        with loaded.lock:
            if closed.is_set():
                return [Completion(None, error="cancelled") for _ in batch]
            started = time.monotonic()
            try:
                return self._generate(loaded, batch, index, started)
            except Exception as exc:  # noqa: BLE001 - e.g. CUDA OOM: every sample of the batch is recorded failed
                _free_cuda_cache()
                latency = int((time.monotonic() - started) * 1000)
                return [Completion(None, latency_ms=latency, error=_error(exc)) for _ in batch]
            finally:
                self._seconds += time.monotonic() - started

    def _generate(self, loaded: Loaded, batch: list[_Row], index: int, started: float) -> list[Completion]:
        import torch

        tok, lm, s = loaded.tok, loaded.lm, self.sampling
        width = max(len(row.ids) for row in batch)
        input_ids = torch.full((len(batch), width), tok.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, row in enumerate(batch):  # left padding
            input_ids[i, width - len(row.ids) :] = torch.tensor(row.ids, dtype=torch.long)
            attention_mask[i, width - len(row.ids) :] = 1
        kwargs: dict[str, Any] = {
            "max_new_tokens": s.max_tokens,
            "pad_token_id": tok.pad_token_id,
            "do_sample": s.temperature > 0,
        }
        if s.temperature > 0:
            kwargs.update(temperature=s.temperature, top_p=s.top_p)
            if s.top_k is not None:
                kwargs["top_k"] = max(0, s.top_k)  # 0 or -1: no top-k, as in vLLM
            elif lm.generation_config.top_k is None:
                kwargs["top_k"] = 0  # not transformers' hidden default of 50: the model's own, or none
            if s.min_p is not None:
                kwargs["min_p"] = s.min_p
        if s.stop:
            kwargs.update(stop_strings=list(s.stop), tokenizer=tok)
        if s.logprobs:  # the raw logits (before temperature and top-p), as vLLM's logprobs are
            kwargs.update(output_logits=True, return_dict_in_generate=True)
        if s.seed is not None:
            torch.manual_seed(s.seed + index)  # repeatable per batch; the batches of one call differ
        with torch.inference_mode():
            out = lm.generate(
                input_ids=input_ids.to(lm.device), attention_mask=attention_mask.to(lm.device), **kwargs
            )
            tops = _top_logprobs(out.logits, s.logprobs) if s.logprobs else None
            sequences = out.sequences if s.logprobs else out
        latency = int((time.monotonic() - started) * 1000)
        generated = sequences[:, width:].tolist()
        done = [
            self._completion(loaded, row, ids, latency) for row, ids in zip(batch, generated, strict=True)
        ]
        if tops is not None:
            for i, (c, ids) in enumerate(zip(done, generated, strict=True)):
                n = min(len(ids), _used(loaded, ids) + 1)  # the stop token too: where the teacher ends
                c.logprobs = TokenLogprobs(ids[:n], tops[0][i][:n], tops[1][i][:n])
        return done

    def _completion(self, loaded: Loaded, row: _Row, ids: list[int], latency: int) -> Completion:
        s = self.sampling
        used = _used(loaded, ids)
        text = loaded.tok.decode(ids[:used], skip_special_tokens=True)
        cut = min((at for st in s.stop or () if (at := text.find(st)) >= 0), default=None)
        if cut is not None:
            text = text[:cut]
        finish = "length" if used >= s.max_tokens and cut is None else "stop"
        if row.opens_think:  # the template opened <think>: put it back so split_reasoning finds it
            text = "<think>" + text
        content, reasoning = split_reasoning(text, None)
        return Completion(content, reasoning, finish, len(row.ids), used, latency)


def _used(loaded: Loaded, ids: list[int]) -> int:
    """How many generated ids come before the first stop id (padding after a row ended included)."""
    return next((j for j, t in enumerate(ids) if t in loaded.stop_ids), len(ids))


def _top_logprobs(logits, k: int) -> tuple[list[list[list[int]]], list[list[list[float]]]]:
    """Per row, per step, the k best ids and their log-probabilities (descending), from generate's
    per-step logits."""
    import torch

    stacked = torch.stack(list(logits), dim=1).float()  # (batch, steps, vocab)
    values, indices = torch.log_softmax(stacked, dim=-1).topk(k, dim=-1)
    return indices.tolist(), values.tolist()


def _error(exc: BaseException) -> str:
    return error_text(exc, limit=ERROR_CHARS)


def _free_cuda_cache() -> None:
    """After an OOM the allocator still holds the failed batch's blocks; give them back."""
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:  # noqa: BLE001 - best effort
        pass
