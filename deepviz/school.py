"""`python -m deepviz school`: a whole school on one machine, several app processes behind nginx.

Streamlit keeps each session in the process that opened it, and one process computes on one core
at a time; so a school runs N processes, and nginx (deploy/nginx/) sends each browser to one of
them and keeps it there (a cookie). What they share is safe to share: the default model's cache
folder (one process trains it, the others wait and load it: store.only_one) and the class lab's
database (SQLite in WAL mode, or DEEPVIZ_DATABASE_URL's PostgreSQL).

Everything the school writes (nginx's settings, logs and pid, each app's log, `processes.json`
naming every process) goes in its run folder; stopping the school stops every process.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).parents[1]  # app.py's folder
TEMPLATES = ROOT / "deploy" / "nginx"
APP_HOST = "127.0.0.1"  # the app processes listen only here: students reach them through nginx
START_S = 180  # a process that imports this long on a busy machine is given up on
PROCESSES = "processes.json"
RESTARTS = 3  # an app process that stops is started again this many times, then left stopped


class SchoolError(RuntimeError):
    """The school could not start; the message, one sentence, says why."""


@dataclass
class School:
    run: Path
    url: str
    env: dict[str, str]  # the app processes'
    apps: dict[str, subprocess.Popen] = field(default_factory=dict)  # by address, as X-Deepviz-Upstream names it
    nginx: subprocess.Popen | None = None
    stopped: set[str] = field(default_factory=set)  # the apps' that have stopped for good
    restarts: dict[str, int] = field(default_factory=dict)  # by address

    def launch(self, name: str) -> None:
        """Start the app process at `name` (address:port), logging to its file in the run folder."""
        command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true"]
        command += ["--server.address", APP_HOST, "--server.port", name.split(":")[1]]
        with open(self.run / f"app-{name}.log", "a") as log:
            self.apps[name] = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def write_processes(self) -> None:
        pids = {"nginx": self.nginx.pid if self.nginx else None, "apps": {n: a.pid for n, a in self.apps.items()}}
        (self.run / PROCESSES).write_text(json.dumps(pids))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((APP_HOST, 0))
        return probe.getsockname()[1]


def check_port(address: str, port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError:
            raise SchoolError(f"port {port} is taken: choose another with --port") from None


def nginx_program() -> str:
    # Debian puts it in /usr/sbin, which a user's PATH may lack.
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise SchoolError("nginx is missing: install it (apt-get install nginx)")
    return found


def fill(template: str, values: dict[str, str]) -> str:
    """The template, its ${NAME}s replaced as the nginx image's envsubst does, nginx's $names kept."""
    text = (TEMPLATES / template).read_text()
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    return text


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
            return answer.read().strip() == b"ok"
    except OSError:
        return False


def start(processes: int, port: int, address: str = "0.0.0.0", run: Path | None = None) -> School:
    """The school up: `processes` app processes, each healthy, and nginx on `address`:`port`."""
    if processes < 1:
        raise SchoolError(f"--processes {processes}: a school needs at least one app process")
    nginx = nginx_program()
    check_port(address, port)
    run = Path(run or tempfile.mkdtemp(prefix="deepviz-school-"))
    run.mkdir(mode=0o700, parents=True, exist_ok=True)
    # One cookie secret for all: a browser moved to another process keeps its XSRF cookie valid.
    env = {"STREAMLIT_SERVER_COOKIE_SECRET": secrets.token_hex(32), **os.environ}
    school = School(run, f"http://{'localhost' if address == '0.0.0.0' else address}:{port}", env)
    try:
        for _ in range(processes):
            school.launch(f"{APP_HOST}:{free_port()}")
        for name, app in school.apps.items():
            up(f"http://{name}", app, run / f"app-{name}.log")
        upstreams = "\n    ".join(f"server {name};" for name in school.apps)
        (run / "deepviz.conf").write_text(
            fill("default.conf.template", {"DEEPVIZ_UPSTREAMS": upstreams, "DEEPVIZ_LISTEN": f"{address}:{port}"})
        )
        # Started by root, nginx's workers would be nobody, who cannot enter the run folder (0700).
        user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""
        (run / "nginx.conf").write_text(fill("school.conf.template", {"DEEPVIZ_RUN": str(run), "DEEPVIZ_USER": user}))
        command = [nginx, "-p", str(run), "-e", str(run / "nginx-error.log"), "-c", str(run / "nginx.conf")]
        with open(run / "nginx.log", "w") as log:
            school.nginx = subprocess.Popen([*command, "-g", "daemon off;"], stdout=log, stderr=subprocess.STDOUT)
        up(school.url.replace("localhost", "127.0.0.1"), school.nginx, run / "nginx-error.log")
        school.write_processes()
    except BaseException:
        stop(school)
        raise
    return school


def up(url: str, process: subprocess.Popen, log: Path) -> None:
    """Wait until `url` answers; SchoolError with the last line of `log` if its process ends first."""
    deadline = time.monotonic() + START_S
    while not healthy(url):
        if process.poll() is not None or time.monotonic() > deadline:
            lines = log.read_text(errors="replace").strip().splitlines() if log.exists() else []
            raise SchoolError(f"{url} did not come up: {lines[-1] if lines else 'no log'} (see {log})")
        time.sleep(0.5)


def stop(school: School) -> None:
    running = [process for process in (school.nginx, *school.apps.values()) if process is not None]
    for process in running:
        process.terminate()
    for process in running:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve(school: School, say=print) -> int:
    """Keep the school up until Ctrl-C or SIGTERM (0), or until nginx or every app process stops (1).

    An app process that stops (killed, or out of memory) is started again on its address, so the
    school keeps its cores; its students meanwhile reload onto another process (nginx passes them
    on). One that keeps stopping, RESTARTS times, is left stopped: it is failing, not unlucky."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    try:
        while True:
            for name, app in list(school.apps.items()):
                if app.poll() is None or name in school.stopped:
                    continue
                lost = f"deepviz school: the app process at {name} stopped: its students reload and go on on another"
                if school.restarts.get(name, 0) >= RESTARTS:
                    school.stopped.add(name)
                    say(f"{lost}; it stopped {RESTARTS + 1} times, so it is left stopped (see app-{name}.log)")
                    continue
                school.restarts[name] = school.restarts.get(name, 0) + 1
                school.launch(name)
                school.write_processes()
                say(f"{lost}, and it is starting again")
            nginx_stopped = school.nginx is None or school.nginx.poll() is not None
            if nginx_stopped or len(school.stopped) == len(school.apps):
                say(f"deepviz school: {'nginx' if nginx_stopped else 'every app process'} stopped")
                return 1
            time.sleep(1)
    except KeyboardInterrupt:
        return 0
    finally:
        stop(school)
