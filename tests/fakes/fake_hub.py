"""A FAKE Hugging Face Hub: the endpoints huggingface_hub's HfApi calls to push a repository, served
on 127.0.0.1, recording what was sent. The real Hub cannot be reached here; this stands in for it.

    hub = FakeHub(token="hf_fake").start()   # hub.url is the endpoint to configure
    ...
    hub.repos[("dataset", "org/name")].files  # path -> bytes, as committed
    hub.stop()

Endpoints (as huggingface_hub 2.x calls them):
- GET  /api/whoami-v2                                   the token's user, or 401
- POST /api/repos/create                                {name, organization, visibility, type}; 409: exists
- GET  /api/{type}s/{ns}/{name}[/revision/{rev}]        repo_info (id, sha, private, siblings)
- POST /api/validate-yaml                               a README's YAML header (accepted)
- POST /api/{type}s/{ns}/{name}/preupload/{rev}         uploadMode lfs for binary or large files, regular
                                                        otherwise, with the remote oid of what is there
- POST /{prefix}{ns}/{name}.git/info/lfs/objects/batch  basic transfer: an upload href per missing object
- PUT  /lfs-upload/{oid}                                the object's bytes (sha256 checked)
- POST /api/{type}s/{ns}/{name}/commit/{rev}            NDJSON: header, file (base64), lfsFile (by oid)

Every request is recorded in `requests` (method, path, whether the token was right); a wrong or missing
token answers 401 on every /api and LFS route, as the Hub does. Xet is not served: the worker that
pushes to this fake runs with HF_HUB_DISABLE_XET=1, so huggingface_hub takes the LFS protocol.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LFS_MIN = 1024  # a binary file or one over this many bytes goes through LFS (the Hub's rule, smaller)


def git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Repo:
    kind: str
    repo_id: str
    private: bool
    files: dict[str, bytes] = field(default_factory=dict)
    lfs: set[str] = field(default_factory=set)  # paths committed as LFS pointers
    commits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sha(self) -> str:
        return self.commits[-1]["oid"] if self.commits else "0" * 40


class FakeHub:
    def __init__(self, token: str = "hf_fake_token", user: str = "fake-user"):
        self.token, self.user = token, user
        self.repos: dict[tuple[str, str], Repo] = {}
        self.objects: dict[str, bytes] = {}  # LFS objects by sha256
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeHub:
        hub = self

        class Handler(_Handler):
            fake = hub

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def repo(self, kind: str, repo_id: str) -> Repo:
        return self.repos[(kind, repo_id)]


REPO = r"(?P<kind>model|dataset|space)s/(?P<repo>[^/]+/[^/]+)"
ROUTES = [
    ("GET", re.compile(r"^/api/whoami-v2$"), "whoami"),
    ("POST", re.compile(r"^/api/repos/create$"), "create"),
    ("POST", re.compile(r"^/api/validate-yaml$"), "validate_yaml"),
    ("POST", re.compile(rf"^/api/{REPO}/preupload/(?P<rev>[^/]+)$"), "preupload"),
    ("POST", re.compile(rf"^/api/{REPO}/commit/(?P<rev>[^/]+)$"), "commit"),
    ("GET", re.compile(rf"^/api/{REPO}(?:/revision/(?P<rev>[^/]+))?$"), "info"),
    ("POST", re.compile(r"^/(?:datasets/|spaces/)?(?P<repo>[^/]+/[^/]+)\.git/info/lfs/objects/batch$"),
     "lfs_batch"),
    ("PUT", re.compile(r"^/lfs-upload/(?P<oid>[0-9a-f]{64})$"), "lfs_put"),
]  # fmt: skip


class _Handler(BaseHTTPRequestHandler):
    fake: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # quiet: the test reads `requests`
        pass

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body if body is not None else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _dispatch(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        body = self._body()
        authorised = self.headers.get("Authorization") == f"Bearer {self.fake.token}"
        with self.fake.lock:
            self.fake.requests.append({"method": method, "path": path, "authorised": authorised})
        for m, pattern, name in ROUTES:
            match = pattern.match(path)
            if m == method and match:
                if name != "lfs_put" and not authorised:  # the upload href is pre-signed, as S3's is
                    self._send(401, {"error": "Invalid credentials in Authorization header"})
                    return
                with self.fake.lock:
                    getattr(self, name)(match.groupdict(), body)
                return
        self._send(404, {"error": f"no route {method} {path}"})

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    # ---- endpoints ----

    def whoami(self, _: dict, __: bytes) -> None:
        self._send(200, {"type": "user", "name": self.fake.user, "auth": {"accessToken": {"role": "write"}}})

    def create(self, _: dict, body: bytes) -> None:
        data = json.loads(body)
        repo_id = f"{data.get('organization') or self.fake.user}/{data['name']}"
        kind = data.get("type") or "model"
        prefix = "" if kind == "model" else f"{kind}s/"
        url = f"{self.fake.url}/{prefix}{repo_id}"
        if (kind, repo_id) in self.fake.repos:
            self._send(409, {"error": "You already created this repo", "url": url})
            return
        private = data.get("visibility") == "private" or bool(data.get("private"))
        self.fake.repos[(kind, repo_id)] = Repo(kind, repo_id, private)
        self._send(200, {"url": url, "name": repo_id})

    def validate_yaml(self, _: dict, __: bytes) -> None:
        self._send(200, {"errors": [], "warnings": []})

    def _repo(self, groups: dict) -> Repo | None:
        repo = self.fake.repos.get((groups["kind"], groups["repo"]))
        if repo is None:
            self._send(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
        return repo

    def info(self, groups: dict, _: bytes) -> None:
        if (repo := self._repo(groups)) is not None:
            siblings = [{"rfilename": p} for p in sorted(repo.files)]
            self._send(
                200, {"id": repo.repo_id, "sha": repo.sha, "private": repo.private, "siblings": siblings}
            )

    def preupload(self, groups: dict, body: bytes) -> None:
        if (repo := self._repo(groups)) is None:
            return
        out = []
        for f in json.loads(body)["files"]:
            sample = base64.b64decode(f["sample"])
            lfs = f["size"] > LFS_MIN or b"\0" in sample
            there = repo.files.get(f["path"])
            oid = None
            if there is not None:
                oid = hashlib.sha256(there).hexdigest() if f["path"] in repo.lfs else git_sha1(there)
            out.append({"path": f["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False,
                        "oid": oid})  # fmt: skip
        self._send(200, {"files": out, "commitOid": repo.sha})

    def lfs_batch(self, _: dict, body: bytes) -> None:
        objects = []
        for obj in json.loads(body)["objects"]:
            entry: dict[str, Any] = {"oid": obj["oid"], "size": obj["size"]}
            if obj["oid"] not in self.fake.objects:
                entry["actions"] = {"upload": {"href": f"{self.fake.url}/lfs-upload/{obj['oid']}"}}
            objects.append(entry)
        self._send(200, {"transfer": "basic", "objects": objects})

    def lfs_put(self, groups: dict, body: bytes) -> None:
        if hashlib.sha256(body).hexdigest() != groups["oid"]:
            self._send(400, {"error": "the object's sha256 is not its oid"})
            return
        self.fake.objects[groups["oid"]] = body
        self._send(200, {})

    def commit(self, groups: dict, body: bytes) -> None:
        if (repo := self._repo(groups)) is None:
            return
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        header = next(x["value"] for x in lines if x["key"] == "header")
        changed: dict[str, bytes] = {}
        lfs: set[str] = set()
        for item in lines:
            v = item["value"]
            if item["key"] == "file":
                changed[v["path"]] = base64.b64decode(v["content"])
            elif item["key"] == "lfsFile":
                if v["oid"] not in self.fake.objects:
                    self._send(422, {"error": f"LFS object {v['oid']} of {v['path']} was never uploaded"})
                    return
                changed[v["path"]] = self.fake.objects[v["oid"]]
                lfs.add(v["path"])
        for p in changed:
            repo.lfs.discard(p)
        repo.files.update(changed)
        repo.lfs |= lfs
        oid = hashlib.sha1(f"{repo.sha}{len(repo.commits)}{sorted(changed)}".encode()).hexdigest()
        repo.commits.append({"oid": oid, "summary": header["summary"], "paths": sorted(changed)})
        prefix = "" if repo.kind == "model" else f"{repo.kind}s/"
        self._send(
            200, {"commitUrl": f"{self.fake.url}/{prefix}{repo.repo_id}/commit/{oid}", "commitOid": oid}
        )
