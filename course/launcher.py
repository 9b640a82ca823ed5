"""Run one grading command under limits, then kill whatever it left behind (a standalone script).

Usage: python launcher.py FILE_SIZE_LIMIT LEFTOVERS_FILE COMMAND...

Strategy: the grader starts this small process in a new session instead of the command
itself. It sets the resource limits (inherited by everything the command starts), makes
itself a child subreaper (Linux), and runs the command as its child. Any process the command
or its descendants orphan (a server's daemonized grandchild, whatever its session, working
folder or environment) is re-parented to this process instead of init. When the command
ends, every such orphan is killed and reaped, its command line written to LEFTOVERS_FILE,
and the command's exit status is passed on (a death by signal as the same signal). On
SIGTERM it kills the command and cleans up the same way. Being the command's parent also
shields the grader: a submission that kills its parent process kills this one, not the grader.
Standard library only, no imports from the course package: it runs before anything else.
"""

import ctypes
import os
import resource
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: orphans go to init; the grader's token sweep still finds most


def my_children() -> list[int]:
    own = os.getpid()
    children = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stream:
                stat = stream.read()
            if int(stat[stat.rindex(b")") + 2 :].split()[1]) == own:
                children.append(int(name))
        except (OSError, ValueError, IndexError):
            continue
    return children


def command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as stream:
            return stream.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return ""


def reap_all() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_leftovers(report_path: str) -> None:
    """Kill every child left (adopted orphans included) until none comes back."""
    seen = []
    quiet_rounds = 0
    for _ in range(100):
        children = my_children()
        if not children:
            quiet_rounds += 1
            if quiet_rounds >= 2:
                break
            time.sleep(0.02)
            continue
        quiet_rounds = 0
        for signum in (signal.SIGSTOP, signal.SIGKILL):
            for pid in children:
                if signum == signal.SIGSTOP:
                    command = command_line(pid)
                    if command:  # zombies have no command line: just reap them
                        seen.append(f"{pid}\t{command}")
                try:
                    os.kill(pid, signum)
                except (ProcessLookupError, PermissionError):
                    pass
        time.sleep(0.01)
        reap_all()
    if seen:
        try:
            with open(report_path, "a", encoding="utf-8") as stream:
                stream.write("\n".join(seen) + "\n")
        except OSError:
            pass


def main() -> None:
    size, report_path, command = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    become_subreaper()
    child = os.fork()
    if child == 0:
        try:
            os.execvp(command[0], command)
        finally:
            os._exit(127)

    def forward(signum, frame):
        try:
            os.kill(child, signal.SIGKILL if signum == signal.SIGTERM else signum)
        except ProcessLookupError:
            pass

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            status = 0
            break
    kill_leftovers(report_path)
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        if -code not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


if __name__ == "__main__":
    main()
