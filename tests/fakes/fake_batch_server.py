"""A FAKE provider batch API in the OpenAI shape, the project's own: what cannot be reached here (OpenAI's
and Together's /v1/batches) stood in for by the documented endpoints and their behaviours.

    python -m tests.fakes.fake_batch_server --port 8098 [--polls 2] [--error-every 5] [--expire-after 3]
        [--fail-batch] [--key sk-test]

Endpoints: POST /v1/files (multipart: purpose=batch, file), GET /v1/files/{id}/content, POST /v1/batches
({input_file_id, endpoint, completion_window, metadata}), GET /v1/batches/{id}, GET /v1/batches (newest
first; limit, after), POST /v1/batches/{id}/cancel, GET /health, GET /stats.

A batch answers `validating`, then `in_progress` for --polls reads, then ends: `completed` with an output
file (and an error file for every --error-every-th request, by custom_id order: http 500 with the
provider's message), `expired` after answering only the first --expire-after requests, or `failed` with
a validation error (--fail-batch). Every answer is the same text, "<think>...</think> The answer is
\\boxed{42}", n choices per request, with usage.
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import time
from typing import Any

import orjson
from aiohttp import web

ANSWER = "<think>6 times 7 is 42.</think> The answer is \\boxed{42}."


class FakeBatchServer:
    def __init__(
        self, polls: int, error_every: int, expire_after: int | None, fail_batch: bool, key: str | None
    ):
        self.polls, self.error_every, self.expire_after = polls, error_every, expire_after
        self.fail_batch, self.key = fail_batch, key
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.reads: dict[str, int] = {}
        self.ids = itertools.count(1)
        self.stats = {"files": 0, "batches_created": 0, "cancelled": 0, "requests": 0}

    def _auth(self, request: web.Request) -> None:
        if self.key and request.headers.get("Authorization") != f"Bearer {self.key}":
            raise web.HTTPUnauthorized(
                text='{"error": {"message": "bad key"}}', content_type="application/json"
            )

    async def upload(self, request: web.Request) -> web.Response:
        self._auth(request)
        form = await request.post()
        if form.get("purpose") != "batch":
            return web.json_response({"error": {"message": "purpose must be batch"}}, status=400)
        data = form["file"].file.read()  # type: ignore[union-attr]
        fid = f"file-{next(self.ids)}"
        self.files[fid] = data
        self.stats["files"] += 1
        return web.json_response({"id": fid, "object": "file", "purpose": "batch", "bytes": len(data)})

    async def content(self, request: web.Request) -> web.Response:
        self._auth(request)
        fid = request.match_info["fid"]
        if fid not in self.files:
            return web.json_response({"error": {"message": "no such file"}}, status=404)
        return web.Response(body=self.files[fid], content_type="application/octet-stream")

    async def create(self, request: web.Request) -> web.Response:
        self._auth(request)
        body = await request.json()
        if body.get("input_file_id") not in self.files:
            return web.json_response({"error": {"message": "input_file_id not found"}}, status=400)
        if body.get("endpoint") != "/v1/chat/completions" or body.get("completion_window") != "24h":
            return web.json_response({"error": {"message": "bad endpoint or window"}}, status=400)
        bid = f"batch-{next(self.ids)}"
        self.batches[bid] = {
            "id": bid,
            "object": "batch",
            "endpoint": body["endpoint"],
            "status": "validating",
            "input_file_id": body["input_file_id"],
            "completion_window": "24h",
            "created_at": int(time.time()),
            "output_file_id": None,
            "error_file_id": None,
            "errors": None,
            "metadata": body.get("metadata") or {},
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
        }
        self.reads[bid] = 0
        self.stats["batches_created"] += 1
        return web.json_response(self.batches[bid])

    def _finish(self, batch: dict[str, Any]) -> None:
        if self.fail_batch:
            batch["status"] = "failed"
            batch["errors"] = {
                "data": [{"code": "invalid_request", "message": "model not available for batch"}]
            }
            return
        lines = [orjson.loads(x) for x in self.files[batch["input_file_id"]].splitlines() if x.strip()]
        out, err = [], []
        for i, line in enumerate(lines, 1):
            if self.expire_after is not None and i > self.expire_after:
                break
            self.stats["requests"] += 1
            n = line["body"].get("n", 1)
            if self.error_every and i % self.error_every == 0:
                err.append(
                    {
                        "id": f"r{i}",
                        "custom_id": line["custom_id"],
                        "error": None,
                        "response": {"status_code": 500, "body": {"error": {"message": "server overloaded"}}},
                    }
                )
                continue
            choices = [
                {"index": k, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}
                for k in range(n)
            ]
            body = {"choices": choices, "usage": {"prompt_tokens": 10, "completion_tokens": 20 * n}}
            out.append(
                {
                    "id": f"r{i}",
                    "custom_id": line["custom_id"],
                    "error": None,
                    "response": {"status_code": 200, "body": body},
                }
            )
        for key, rows in (("output_file_id", out), ("error_file_id", err)):
            if rows:
                fid = f"file-{next(self.ids)}"
                self.files[fid] = b"\n".join(orjson.dumps(r) for r in rows) + b"\n"
                batch[key] = fid
        batch["status"] = "expired" if self.expire_after is not None else "completed"
        batch["request_counts"] = {"total": len(lines), "completed": len(out), "failed": len(err)}

    async def get(self, request: web.Request) -> web.Response:
        self._auth(request)
        batch = self.batches.get(request.match_info["bid"])
        if batch is None:
            return web.json_response({"error": {"message": "no such batch"}}, status=404)
        if batch["status"] in ("validating", "in_progress"):
            self.reads[batch["id"]] += 1
            if self.reads[batch["id"]] > self.polls:
                self._finish(batch)
            else:
                batch["status"] = "in_progress"
        return web.json_response(batch)

    async def listing(self, request: web.Request) -> web.Response:
        self._auth(request)
        limit = int(request.query.get("limit", "20"))
        newest = sorted(self.batches.values(), key=lambda b: int(b["id"].split("-")[1]), reverse=True)
        after = request.query.get("after")
        if after:
            ids = [b["id"] for b in newest]
            newest = newest[ids.index(after) + 1 :] if after in ids else []
        page = newest[:limit]
        last = page[-1]["id"] if page else None
        return web.json_response(
            {"object": "list", "data": page, "has_more": len(newest) > limit, "last_id": last}
        )

    async def cancel(self, request: web.Request) -> web.Response:
        self._auth(request)
        batch = self.batches[request.match_info["bid"]]
        if batch["status"] not in ("completed", "failed", "expired", "cancelled"):
            batch["status"] = "cancelled"
            self.stats["cancelled"] += 1
        return web.json_response(batch)

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def get_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/files", self.upload)
        app.router.add_get("/v1/files/{fid}/content", self.content)
        app.router.add_post("/v1/batches", self.create)
        app.router.add_get("/v1/batches", self.listing)
        app.router.add_get("/v1/batches/{bid}", self.get)
        app.router.add_post("/v1/batches/{bid}/cancel", self.cancel)
        app.router.add_get("/health", self.health)
        app.router.add_get("/stats", self.get_stats)
        return app


def start_batch_server(port: int, *args: str) -> subprocess.Popen:
    """Run it as a subprocess on 127.0.0.1:port and wait until /health answers."""
    from tests.fakes.fake_openai_server import start_fake_server

    return start_fake_server(port, *args, module="tests.fakes.fake_batch_server")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--polls", type=int, default=1)
    ap.add_argument("--error-every", type=int, default=0)
    ap.add_argument("--expire-after", type=int, default=None)
    ap.add_argument("--fail-batch", action="store_true")
    ap.add_argument("--key", default=None)
    a = ap.parse_args()
    server = FakeBatchServer(a.polls, a.error_every, a.expire_after, a.fail_batch, a.key)
    web.run_app(server.app(), host="127.0.0.1", port=a.port, print=None)


if __name__ == "__main__":
    main()
