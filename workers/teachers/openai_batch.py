"""A teacher over a provider's batch API in the OpenAI shape (OpenAI, Together and others serve it): a
chunk's requests as one JSONL file, one batch, polled to its end inside the provider's window (24 h),
then its output and error files read. Providers bill batches at about half the online price.

Exactly once across worker kills and re-queues. The chunk's ledger (StageChunk.batch) holds a nonce
before anything is sent, the input file's id once it is uploaded, and the batch's id once it is
created; the batch carries the nonce in its metadata, so a task that died between creating the batch
and storing its id finds it by listing the batches instead of submitting twice, and a task that finds
a batch id resumes polling it. Results are used by custom_id (`p<prompt id>`): a resumed batch's
answers fill whatever its prompts still miss, and what it could not answer (per-request errors, an
expired window) is submitted once more as a fresh batch; a fresh batch's failures are recorded as
failed attempts with their cause, as online mode records a request that failed every retry.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
import orjson

from backend.core.egress import PROVIDER_SAYS, EgressPolicy
from backend.core.logging import scrub
from workers.progress import Cancelled
from workers.teachers import egress
from workers.teachers.base import Completion, Request, Sampling
from workers.teachers.openai_compat import _parse

log = logging.getLogger(__name__)

TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
LIST_PAGES = 10  # pages of 100 batches searched for a nonce: a lost id is found among the latest


class Ledger(Protocol):
    """Where a chunk's batch state survives its task (rollout: StageChunk.batch)."""

    def load(self) -> dict[str, Any]: ...

    def save(self, state: dict[str, Any]) -> None: ...


class BatchFailed(RuntimeError):
    """The provider refused the batch as a whole (validation, quota): the chunk fails with its words."""


def custom_id(req: Request) -> str:
    return f"p{req.key[0]}"


@dataclass
class OpenAIBatchClient:
    base_url: str
    model: str
    ledger: Ledger
    still_running: Callable[[], bool]  # False once the stage is cancelled: the batch is cancelled too
    api_key: str | None = None
    sampling: Sampling = field(default_factory=Sampling)
    poll_s: float = 30.0
    timeout_s: float = 120.0
    window: str = "24h"
    egress: EgressPolicy | None = field(default_factory=lambda: EgressPolicy.current())
    name: str = "openai_batch"
    _http: aiohttp.ClientSession | None = field(default=None, init=False, repr=False)

    @property
    def gpu_seconds(self) -> float:
        return 0.0

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
            self._http = aiohttp.ClientSession(
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                connector=egress.connector(self.egress, limit=4, ttl_dns_cache=300),
            )
        return self._http

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call; the provider's words (scrubbed of the key) on an error status."""
        if self.egress is not None:
            self.egress.check_url(self.base_url)
        url = self.base_url.rstrip("/") + path
        async with self._session().request(method, url, allow_redirects=False, **kwargs) as resp:
            raw = await resp.read()
            if resp.status >= 300:
                said = scrub(raw[:2000].decode("utf-8", "replace"), self.api_key)[:300]
                raise BatchFailed(f"{method} {path}: http {resp.status}{PROVIDER_SAYS}{said}")
            return raw if path.endswith("/content") else orjson.loads(raw)

    # ---- submission -------------------------------------------------------------------------------

    def _jsonl(self, requests: list[Request]) -> bytes:
        lines = []
        for req in requests:
            body = {"model": self.model, "messages": req.messages, **self.sampling.openai_body()}
            if req.n != 1:
                body["n"] = req.n
            line = {
                "custom_id": custom_id(req),
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": body,
            }
            lines.append(orjson.dumps(line))
        return b"\n".join(lines) + b"\n"

    async def _find(self, nonce: str) -> str | None:
        """The batch a dead task created under this nonce, if the provider lists it."""
        after: str | None = None
        for _ in range(LIST_PAGES):
            params = {"limit": "100", **({"after": after} if after else {})}
            page = await self._call("GET", "/batches", params=params)
            for b in page.get("data") or []:
                if (b.get("metadata") or {}).get("distillery_nonce") == nonce:
                    return str(b["id"])
            if not page.get("has_more") or not page.get("data"):
                return None
            after = page.get("last_id") or page["data"][-1]["id"]
        return None

    async def _submit(self, requests: list[Request], state: dict[str, Any]) -> dict[str, Any]:
        if not state.get("nonce"):  # stored before anything is sent: a retry knows what it may have made
            state = {"nonce": uuid.uuid4().hex}
            await asyncio.to_thread(self.ledger.save, state)
        elif (found := await self._find(state["nonce"])) is not None:
            state = {**state, "batch_id": found}
            await asyncio.to_thread(self.ledger.save, state)
            log.info("batch %s was created before this task's predecessor stopped; resuming it", found)
            return state
        if not state.get("file_id"):
            form = aiohttp.FormData()
            form.add_field("purpose", "batch")
            form.add_field(
                "file", self._jsonl(requests), filename="requests.jsonl", content_type="application/jsonl"
            )
            uploaded = await self._call("POST", "/files", data=form)
            state = {**state, "file_id": uploaded["id"]}
            await asyncio.to_thread(self.ledger.save, state)
        created = await self._call(
            "POST",
            "/batches",
            json={
                "input_file_id": state["file_id"],
                "endpoint": "/v1/chat/completions",
                "completion_window": self.window,
                "metadata": {"distillery_nonce": state["nonce"]},
            },
        )
        state = {**state, "batch_id": created["id"], "fresh": True}
        await asyncio.to_thread(self.ledger.save, state)
        return state

    # ---- waiting and reading ----------------------------------------------------------------------

    async def _wait(self, batch_id: str) -> dict[str, Any]:
        while True:
            batch = await self._call("GET", f"/batches/{batch_id}")
            if batch.get("status") in TERMINAL:
                return batch
            if not await asyncio.to_thread(self.still_running):
                await self._call("POST", f"/batches/{batch_id}/cancel")
                raise Cancelled()
            await asyncio.sleep(self.poll_s)

    async def _read(self, batch: dict[str, Any]) -> dict[str, list[Completion] | str]:
        """custom_id -> its completions, or the error that stands for them."""
        out: dict[str, list[Completion] | str] = {}
        for key in ("output_file_id", "error_file_id"):
            if not batch.get(key):
                continue
            raw = await self._call("GET", f"/files/{batch[key]}/content")
            for line in raw.splitlines():
                if line.strip():
                    item = orjson.loads(line)
                    out[str(item.get("custom_id"))] = self._result(item)
        return out

    def _result(self, item: dict[str, Any]) -> list[Completion] | str:
        resp = item.get("response") or {}
        if resp.get("status_code") == 200:
            try:
                parsed = _parse(resp.get("body") or {}, 0)
            except ValueError:
                return "malformed response"
            return parsed if parsed else "empty content"
        err = item.get("error") or (resp.get("body") or {}).get("error") or {}
        said = scrub(str(err.get("message") or err)[:300], self.api_key)
        return f"http {resp.get('status_code') or 'error'}{PROVIDER_SAYS}{said}"

    # ---- the TeacherBackend face --------------------------------------------------------------------

    async def generate(self, requests: list[Request]) -> AsyncIterator[tuple[Request, list[Completion]]]:
        pending = {custom_id(r): r for r in requests}
        state = await asyncio.to_thread(self.ledger.load)
        started = time.monotonic()
        while pending:
            if not state.get("batch_id"):
                state = await self._submit(list(pending.values()), state)
            batch = await self._wait(state["batch_id"])
            if batch["status"] == "failed":
                errors = (batch.get("errors") or {}).get("data") or [{}]
                said = scrub(str(errors[0].get("message") or "no reason given")[:300], self.api_key)
                await asyncio.to_thread(self.ledger.save, {})  # a re-queue submits afresh
                raise BatchFailed(f"batch {batch['id']} failed{PROVIDER_SAYS}{said}")
            results = await self._read(batch)
            latency = int((time.monotonic() - started) * 1000)
            for cid in list(pending):
                got = results.get(cid)
                if isinstance(got, list):
                    for c in got:
                        c.latency_ms = latency
                    yield pending.pop(cid), got
            if state.get("fresh"):  # what a batch submitted now could not answer is recorded failed
                for cid in list(pending):
                    got = results.get(cid)
                    why = (
                        got
                        if isinstance(got, str)
                        else f"batch {batch['status']}: no result for this request"
                    )
                    req = pending.pop(cid)
                    yield req, [Completion(None, error=why) for _ in range(req.n)]
            state = {}  # a resumed batch's gaps get one fresh submission
            await asyncio.to_thread(self.ledger.save, state)
