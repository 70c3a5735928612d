"""The build's one shell, as buildspec 0.2 has it: a command sees what earlier commands left.

CodeBuild 0.2 runs every command of every phase "in the same instance of the default shell": a
``cd``, a variable assignment or an ``export`` in one command holds for the next ones, in later
phases too. Here each command runs in its own ``bash`` (so it has its own exit status, its own
process group to kill, and a multi-line command is one command, as in CodeBuild) that first
restores the state the previous command left and saves its own on exit: variables (exported or
not, arrays included) and the working directory. Functions, shell options and background jobs do
not carry over. ``/bin/sh`` is bash in POSIX mode, as on CodeBuild's Amazon Linux images, not the
host's (on Debian: dash).
"""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable

# Names bash sets itself, or that describe this process rather than the build: never carried over.
_SKIPPED = ("BASH*|COMP*|FUNCNAME|GROUPS|PIPESTATUS|RANDOM|SRANDOM|SECONDS|LINENO|HISTCMD|PPID|UID|EUID|"
            "SHELLOPTS|OPTIND|OPTARG|OPTERR|EPOCHREALTIME|EPOCHSECONDS|_|__cb_*|PWD|OLDPWD|SHLVL|DIRSTACK|"
            "HOSTNAME|HOSTTYPE|MACHTYPE|OSTYPE|IFS|PS4|COLUMNS|LINES")

_SAVE = f"""__cb_save() {{
  __cb_rc=$?
  {{ for __cb_v in $(compgen -v); do case $__cb_v in {_SKIPPED}) ;; *) declare -p "$__cb_v" 2>/dev/null ;; esac; done
  }} > "$__CB_STATE/vars.new" && mv "$__CB_STATE/vars.new" "$__CB_STATE/vars"
  pwd > "$__CB_STATE/cwd"
  env -0 > "$__CB_STATE/env"
  exit $__cb_rc
}}
trap __cb_save EXIT
"""

KILL_GRACE_SECONDS = 2.0


class Stopped(Exception):
    """The command was killed because the build was stopped or timed out."""


class Shell:
    """Runs a build's commands one after another in the state the previous ones left."""

    def __init__(self, state_dir: Path, start_dir: Path, environment: dict[str, str], posix: bool = False) -> None:
        self.state_dir = state_dir
        state_dir.mkdir(parents=True, exist_ok=True)
        (state_dir / "vars").write_text("")
        (state_dir / "cwd").write_text(str(start_dir))
        self.environment = dict(environment)
        self.posix = posix
        self._lock = threading.Lock()
        self._groups: set[int] = set()
        self._stopped = False

    def run(self, command: str, output: Callable[[str], None], deadline: float | None = None,
            tick: Callable[[], None] = lambda: None) -> int:
        """Run ``command``; stream its output lines to ``output``; return its exit status.

        ``tick`` is called every 0.2 s while the command runs (the log flushes what it holds).

        :raise Stopped: ``stop()`` was called, or ``deadline`` (epoch seconds) passed.
        """
        script = self.state_dir / "command.sh"
        script.write_text(f'cd "$(cat "$__CB_STATE/cwd")" || exit 1\n. "$__CB_STATE/vars"\n{_SAVE}\n{command}\n')
        with self._lock:
            if self._stopped:
                raise Stopped()
            process = subprocess.Popen(
                ["bash", *(["--posix"] if self.posix else []), str(script)],
                env={**self.environment, "__CB_STATE": str(self.state_dir)}, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
            self._groups.add(process.pid)
        reader = threading.Thread(target=_pump, args=(process, output), daemon=True)
        reader.start()
        try:
            while True:
                try:
                    status = process.wait(timeout=0.2)
                    break
                except subprocess.TimeoutExpired:
                    tick()
                    if self._stopped or (deadline is not None and time.time() > deadline):
                        self._kill(process.pid)
                        process.wait()
                        reader.join(timeout=1)
                        raise Stopped() from None
        finally:
            # Whatever the command left running in the background ends with it: the output pipe
            # closes, and nothing outlives the build on the host.
            self._kill(process.pid, grace=0)
        reader.join(timeout=5)
        if self._stopped:
            raise Stopped()
        self.environment = self._saved_environment()
        return status

    def export(self, name: str, value: str) -> None:
        """Set an exported variable for the next commands (over what the last command left)."""
        self.environment[name] = value
        with (self.state_dir / "vars").open("a") as saved:
            saved.write(f"declare -x {name}={shlex.quote(value)}\n")

    def values(self, names: tuple[str, ...]) -> dict[str, str]:
        """The values the build's shell holds for ``names`` now (exported or not); unset ones are absent."""
        reader = ('. "$__CB_STATE/vars" 2>/dev/null; for __cb_n in "$@"; do '
                  'if [ -n "${!__cb_n+set}" ]; then printf "%s=%s\\0" "$__cb_n" "${!__cb_n}"; fi; done')
        done = subprocess.run(["bash", "-c", reader, "values", *names], capture_output=True, timeout=30,
                              env={**self.environment, "__CB_STATE": str(self.state_dir)})
        pairs = (entry.decode(errors="replace").partition("=") for entry in done.stdout.split(b"\0") if entry)
        return {name: value for name, _, value in pairs}

    def stop(self) -> None:
        """Kill the running command's process group (and refuse further commands)."""
        with self._lock:
            self._stopped = True
            groups = list(self._groups)
        for group in groups:
            self._kill(group)

    def _kill(self, group: int, grace: float = KILL_GRACE_SECONDS) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(group, sig)
            except (ProcessLookupError, PermissionError):
                break
            ends = time.time() + grace
            while sig == signal.SIGTERM and time.time() < ends and _alive(group):
                time.sleep(0.05)
        with self._lock:
            self._groups.discard(group)

    def _saved_environment(self) -> dict[str, str]:
        """The exported variables as the last command left them (the next command starts from them)."""
        try:
            raw = (self.state_dir / "env").read_bytes()
        except FileNotFoundError:
            return self.environment
        pairs = (entry.decode(errors="replace").partition("=") for entry in raw.split(b"\0") if entry)
        saved = {name: value for name, _, value in pairs if name and name != "__CB_STATE"}
        return saved or self.environment


def _alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _pump(process: subprocess.Popen[bytes], output: Callable[[str], None]) -> None:
    assert process.stdout is not None
    for line in iter(process.stdout.readline, b""):
        output(line.decode(errors="replace").rstrip("\n"))
