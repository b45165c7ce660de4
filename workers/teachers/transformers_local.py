"""The transformers_local teacher: batched Hugging Face `generate` with sampling, on CPU or GPU.

For the offline demo, tests and small jobs; vLLM is the engine for real rollouts. The model loads
once per worker process; each batch runs in a thread so the event loop keeps writing results.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

from workers.teachers.base import Completion, Request, Sampling, split_reasoning

_models: dict[tuple[str, str, str], tuple[Any, Any]] = {}
_lock = threading.Lock()


def load(model: str, device: str, dtype: str) -> tuple[Any, Any]:
    """(tokenizer, model), cached per process."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    key = (model, device, dtype)
    with _lock:
        if key not in _models:
            tok = AutoTokenizer.from_pretrained(model)
            tok.padding_side = "left"  # generation continues from the right edge of every row
            if tok.pad_token is None:
                tok.pad_token = tok.eos_token
            torch_dtype = "auto" if dtype == "auto" else getattr(torch, dtype)
            lm = AutoModelForCausalLM.from_pretrained(model, dtype=torch_dtype).to(device).eval()
            _models[key] = (tok, lm)
        return _models[key]


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
        return self._seconds

    async def aclose(self) -> None:
        return None  # the model stays cached for the next chunk

    async def generate(self, requests: list[Request]) -> AsyncIterator[tuple[Request, list[Completion]]]:
        # Same n in a batch: generate() takes one num_return_sequences per call.
        by_n: dict[int, list[Request]] = {}
        for r in requests:
            by_n.setdefault(r.n, []).append(r)
        for n, group in by_n.items():
            per = max(1, self.batch_size // n)
            for i in range(0, len(group), per):
                batch = group[i : i + per]
                results = await asyncio.to_thread(self._run, batch, n)
                for req, completions in zip(batch, results, strict=True):
                    yield req, completions

    def _run(self, batch: list[Request], n: int) -> list[list[Completion]]:
        started = time.monotonic()
        try:
            return self._generate(batch, n, started)
        except Exception as exc:  # noqa: BLE001 - e.g. CUDA OOM: every attempt of the batch is recorded failed
            error = f"{type(exc).__name__}: {exc}"[:300]
            return [[Completion(None, error=error) for _ in range(n)] for _ in batch]
        finally:
            self._seconds += time.monotonic() - started

    def _generate(self, batch: list[Request], n: int, started: float) -> list[list[Completion]]:
        import torch

        tok, lm = load(self.model, self.device, self.dtype)
        texts = [self._prompt(tok, r.messages) for r in batch]
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(lm.device)
        s = self.sampling
        kwargs: dict[str, Any] = {
            "max_new_tokens": s.max_tokens,
            "num_return_sequences": n,
            "pad_token_id": tok.pad_token_id,
            "do_sample": s.temperature > 0,
        }
        if s.temperature > 0:
            kwargs.update(temperature=s.temperature, top_p=s.top_p)
            if s.top_k is not None and s.top_k > 0:
                kwargs["top_k"] = s.top_k
            if s.min_p is not None:
                kwargs["min_p"] = s.min_p
        if s.stop:
            kwargs.update(stop_strings=list(s.stop), tokenizer=tok)
        if s.seed is not None:
            torch.manual_seed(s.seed)
        with torch.inference_mode():
            out = lm.generate(**enc, **kwargs)
        latency = int((time.monotonic() - started) * 1000)
        width = enc["input_ids"].shape[1]
        prompt_lens = enc["attention_mask"].sum(dim=1).tolist()
        eos = {tok.eos_token_id, tok.pad_token_id} - {None}
        results: list[list[Completion]] = []
        for b in range(len(batch)):
            group = []
            for k in range(n):
                ids = out[b * n + k, width:].tolist()
                used = len(ids)
                for j, t in enumerate(ids):
                    if t in eos:
                        used = j
                        break
                text = tok.decode(ids[:used], skip_special_tokens=True)
                stopped_on = next((st for st in (s.stop or ()) if st in text), None)
                if stopped_on is not None:
                    text = text[: text.index(stopped_on)]
                finish = "length" if used == s.max_tokens and stopped_on is None else "stop"
                content, reasoning = split_reasoning(text, None)
                group.append(Completion(content, reasoning, finish, int(prompt_lens[b]), used, latency))
            results.append(group)
        return results

    @staticmethod
    def _prompt(tok: Any, messages: list[dict[str, str]]) -> str:
        if getattr(tok, "chat_template", None):
            return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return "\n".join(m["content"] for m in messages) + "\n"
