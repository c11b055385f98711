"""The school's containers (Dockerfile, compose.yaml), checked where no Docker engine runs (none can
here). What an engine would add is the base images and the copying; what the image runs is checked:
requirements.txt holds everything the app imports, the files the Dockerfile copies serve the app
as its CMD starts it with its ENV, its HEALTHCHECK tells a live app from none, and compose.yaml's
services agree with the image and with nginx's template."""

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import expect
from test_browser import draw_a_three, no_exceptions

from deepviz.school import ROOT, TEMPLATES, free_port, up
from measure.browser import stop

DATA_ENV = "DEEPVIZ_DATA_DIR"


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, its arguments) for each instruction of the Dockerfile, continued lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = (line.strip() for line in text.splitlines())
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def arguments(instruction: str) -> list[str]:
    return [args for name, args in dockerfile() if name == instruction]


def image_env() -> dict[str, str]:
    return dict(pair.split("=", 1) for args in arguments("ENV") for pair in shlex.split(args))


def exec_form(args: str) -> list[str]:
    """A CMD's command: the JSON list after any options (HEALTHCHECK --interval=... CMD [...])."""
    return json.loads(args[args.index("[") :])


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def mounts(service: str) -> dict[str, str]:
    """The folders a service of compose.yaml mounts: where, in the container, from what."""
    found = {}
    for volume in compose()["services"][service]["volumes"]:
        source, target = volume.removesuffix(":ro").rsplit(":", 1)  # a source's ${NAME:-default} has one too
        found[target] = source
    return found


def test_requirements_txt_holds_every_package_the_app_imports():
    """The image installs requirements.txt alone: a package the app imports that only arrives with
    another (pandas with streamlit, h5py with keras) may go when that one changes."""
    deptry = [sys.executable, "-m", "deptry", "."]  # its settings: pyproject.toml's [tool.deptry]
    result = subprocess.run(deptry, check=False, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_the_image_with_the_folders_and_ports_it_expects():
    services = compose()["services"]
    env = image_env()
    # The data and the model cache are mounted where the image's settings look for them.
    app = mounts("app")
    assert Path(env[DATA_ENV]).parent.as_posix() in app
    assert env["DEEPVIZ_CACHE_DIR"] in app
    assert arguments("VOLUME") == [json.dumps([env["DEEPVIZ_CACHE_DIR"]])]
    # nginx's template gets each name it uses, and sends to the port the app listens on.
    nginx = services["nginx"]
    template = "deploy/nginx/default.conf.template"
    assert mounts("nginx")[f"/etc/nginx/templates/{Path(template).name}"] == f"./{template}"
    names = set(re.findall(r"\$\{(\w+)\}", (TEMPLATES / Path(template).name).read_text()))
    assert names == set(nginx["environment"])
    port = arguments("EXPOSE")[0]
    assert exec_form(arguments("CMD")[0])[-2:] == ["--server.port", port]
    assert nginx["environment"]["DEEPVIZ_UPSTREAMS"] == f"server app:{port};"
    assert nginx["ports"] == [f"${{DEEPVIZ_PORT:-8080}}:{nginx['environment']['DEEPVIZ_LISTEN']}"]
    # Each waits for what it needs to be healthy, so each of those has a health check.
    assert services["nginx"]["depends_on"]["app"]["condition"] == "service_healthy"
    assert len(arguments("HEALTHCHECK")) == 1
    assert services["app"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert "healthcheck" in services["db"]
    # The class lab's database is the db service, with its user, password and database.
    db = services["db"]["environment"]
    url = services["app"]["environment"]["DEEPVIZ_DATABASE_URL"]
    assert url == f"postgresql://{db['POSTGRES_USER']}:{db['POSTGRES_PASSWORD']}@db/{db['POSTGRES_DB']}"


def image_files(to: Path) -> None:
    """What the Dockerfile's COPY lines put in its WORKDIR, less what .dockerignore keeps out."""
    ignored = [
        pattern.removeprefix("**/").rstrip("/")
        for pattern in (ROOT / ".dockerignore").read_text().splitlines()
        if pattern and not pattern.startswith("#")
    ]
    skip = shutil.ignore_patterns(*ignored)
    for args in arguments("COPY"):
        *sources, target = args.split()
        for source in sources:
            assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), source
            place = to / (target if target != "." else source)
            if (ROOT / source).is_dir():
                shutil.copytree(ROOT / source, place, ignore=skip)
            else:
                shutil.copy(ROOT / source, place)


def in_host(path: str, data: Path, cache: Path) -> str:
    """A path in the container, as compose mounts it here: /data the data folder, /cache the cache."""
    for folder, host in ((Path(image_env()[DATA_ENV]).parent, data), (Path(image_env()["DEEPVIZ_CACHE_DIR"]), cache)):
        if Path(path).is_relative_to(folder):
            return str(host / Path(path).relative_to(folder))
    return path


def as_here(command: list[str], port: int) -> list[str]:
    """The image's command on this machine: its Python, a free port, and loopback only."""
    swap = {"python": sys.executable, "0.0.0.0": "127.0.0.1"}
    return [swap.get(part, part).replace(arguments("EXPOSE")[0], str(port)) for part in command]


@pytest.mark.slow
def test_the_images_files_serve_the_app_as_its_command_starts_it(default_trained, cache_dir, page, tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    image_files(app)
    assert not (app / "tests").exists() and not (app / "measure").exists()
    data = Path(os.environ[DATA_ENV]).parent
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    env |= {name: in_host(value, data, cache_dir) for name, value in image_env().items()}
    port = free_port()
    health = as_here(exec_form(arguments("HEALTHCHECK")[0]), port)
    assert subprocess.run(health, check=False, capture_output=True).returncode != 0  # nothing listens yet

    log = tmp_path / "app.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            as_here(exec_form(arguments("CMD")[0]), port), cwd=app, env=env, stdout=out, stderr=out
        )
    try:
        url = f"http://127.0.0.1:{port}"
        up(url, process, log)
        result = subprocess.run(health, check=False, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        page.goto(f"{url}/draw")  # a fresh server's first Draw page waits for the default model
        expect(page.locator("canvas.upper-canvas")).to_be_visible(timeout=120_000)
        draw_a_three(page, url)
        # The default model came from the cache folder, as compose's shared volume gives it.
        expect(page.locator(".st-key-stage-layers .js-plotly-plot image")).to_have_count(7)
        no_exceptions(page)
    finally:
        stop(process)
    assert "Traceback" not in log.read_text()
