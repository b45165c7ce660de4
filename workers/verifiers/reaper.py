"""The sandbox's reaper: `python -I -S -c <this file's text> CMD...` runs CMD (bwrap) as its child,
being a child subreaper, and exits with CMD's status once every process that came to it is reaped.

Why: bwrap's init (pid 1 of the sandbox, which reaps the program's processes) tells the outer bwrap
the program's exit status through an eventfd, and the outer bwrap exits on that without waiting for
its init, which is orphaned. It went to the host's PID 1, which in a container may never reap it: one
zombie per run, each counted against the sandbox uid's process limit (issue 23). With this process as
the nearest subreaper, the orphan comes here and is reaped at once.

It runs outside the sandbox, as the sandbox's uid and under its rlimits, on the sandbox's own
interpreter (which that uid can run), with its text passed on the command line (it reads no file).
Standard library only, no site packages.
"""

import ctypes
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36


def main(argv: list[str]) -> int:
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    child = os.fork()
    if child == 0:
        try:
            os.execvp(argv[0], argv)
        except OSError as exc:
            os.write(2, f"reaper: cannot run {argv[0]}: {exc}\n".encode())
        os._exit(127)
    # Keep none of the command's pipes open (its stdin, bwrap's status, the harness's report): their
    # readers and writers must see the command's end as theirs. stderr stays for the message above.
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    for fd in [int(name) for name in os.listdir("/proc/self/fd")]:
        if fd > 2:
            try:
                os.close(fd)
            except OSError:  # the listing's own descriptor, gone already
                pass
    status = 0
    while True:
        try:
            pid, st = os.wait()
        except ChildProcessError:  # none left: the command and everything that came to us
            break
        if pid == child:
            status = st
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        return 128 + sig
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
