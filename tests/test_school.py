"""A school: `python -m deepviz school`, two app processes behind nginx. Each browser sticks to one
process, both serve, and a process that dies loses only its own sessions: the others carry on."""

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request

import pytest
from playwright.sync_api import expect
from test_browser import draw_a_three, no_exceptions, pen_three

from deepviz import school as school_module
from deepviz.cli import main
from deepviz.school import PROCESSES, ROOT, TEMPLATES, free_port, healthy, nginx_program
from measure.browser import WAIT_MS, replay


@pytest.fixture(scope="module")
def school(default_trained, tmp_path_factory):
    """The school's URL and its processes.json; the default model is in the cache folder they share."""
    try:
        nginx_program()
    except RuntimeError as error:
        pytest.fail(str(error))
    run = tmp_path_factory.mktemp("school")
    port = free_port()
    command = [sys.executable, "-m", "deepviz", "school", "--processes", "2", "--port", str(port)]
    command += ["--address", "127.0.0.1", "--run-dir", str(run)]
    school = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 180
        while not (run / PROCESSES).exists():
            assert school.poll() is None and time.monotonic() < deadline, school.stdout.read()
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}", run
    finally:
        school.send_signal(signal.SIGTERM)
        output = school.communicate(timeout=60)[0]
    assert school.returncode == 0, output
    processes = json.loads((run / PROCESSES).read_text())  # as the school last wrote them: restarts too
    for pid in [processes["nginx"], *processes["apps"].values()]:  # stopping the school stopped them all
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def running(run) -> dict:
    """The school's processes.json: nginx's pid, and each app process's by address."""
    return json.loads((run / PROCESSES).read_text())


def upstream(headers) -> str:
    """The process that answered: the last nginx tried (it names each, comma-separated)."""
    return headers["x-deepviz-upstream"].split(",")[-1].strip()


@pytest.mark.slow
def test_each_browser_sticks_to_one_process_and_both_serve(school):
    url, run = school
    processes = running(run)
    seen = {}
    for _ in range(12):  # a fresh client lands on either process, a coin toss each
        jar = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        answers = []
        for _ in range(8):
            with jar.open(f"{url}/_stcore/health", timeout=10) as answer:
                assert answer.read() == b"ok"
                answers.append(upstream(answer.headers))
        assert len(set(answers)) == 1, answers  # sticky: every request of one client to one process
        seen[answers[0]] = seen.get(answers[0], 0) + 1
        if len(seen) == 2:
            break
    assert set(seen) == set(processes["apps"])


@pytest.mark.slow
def test_a_killed_process_loses_only_its_own_sessions_and_starts_again(school, browser):
    url, run = school
    processes = running(run)
    pages = {}
    try:
        for _ in range(12):  # browsers until each process holds one
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.set_default_timeout(WAIT_MS)
            page = context.new_page()
            answered = upstream(page.goto(url, wait_until="commit").headers)  # its headers are all this needs
            if answered in pages:
                context.close()  # a browser fewer loading the app on a busy machine
            pages.setdefault(answered, page)
            if len(pages) == 2:
                break
        assert set(pages) == set(processes["apps"])
        # Each process loads TensorFlow and the default model for its first Draw page, both at once:
        # seconds, but minutes on a busy 2-core machine, past draw_a_three's wait.
        for page in pages.values():
            page.goto(f"{url}/draw", wait_until="commit")
        for page in pages.values():
            expect(page.locator("canvas.upper-canvas")).to_be_visible(timeout=10 * WAIT_MS)
        for page in pages.values():
            draw_a_three(page, url)
            no_exceptions(page)
        killed, survivor = list(pages)
        os.kill(processes["apps"][killed], signal.SIGKILL)

        # The other process's student draws on in the same session, as if nothing happened.
        going_on = pages[survivor]
        going_on.get_by_role("button", name="Clear").click()
        expect(going_on.get_by_text("Draw a digit from 0 to 9")).to_be_visible()
        replay(going_on, going_on.locator("canvas.upper-canvas"), pen_three())
        prediction = going_on.get_by_test_id("stMetric").filter(has_text="Prediction")
        expect(prediction.get_by_test_id("stMetricValue")).to_have_text(re.compile(r"^\s*[0-9]\s*$"))
        no_exceptions(going_on)

        # The killed process's student lost that session: reloaded, the page is a fresh session (on
        # the other process, or on the killed one started again), and works.
        lost = pages[killed]
        lost.reload()
        expect(lost.get_by_text("Draw a digit from 0 to 9")).to_be_visible(timeout=10 * WAIT_MS)
        draw_a_three(lost, url)
        no_exceptions(lost)

        # The school starts the killed process again on its address, and it serves.
        deadline = time.monotonic() + 180
        while running(run)["apps"][killed] == processes["apps"][killed] or not healthy(f"http://{killed}"):
            assert time.monotonic() < deadline, "the killed process was not started again"
            time.sleep(1)
    finally:
        for page in pages.values():
            page.context.close()


def test_a_school_that_cannot_start_says_why_in_one_line(monkeypatch, capsys):
    def fails_with(args, message):
        assert main(["school", *args]) != 0
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("deepviz: error: ") and message in err, err

    with pytest.raises(SystemExit) as exit_info:
        main(["school", "--processes", "0"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == "deepviz: error: argument --processes: 0 is below 1\n"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        fails_with(["--port", str(port), "--address", "127.0.0.1"], f"port {port} is taken: choose another with --port")
    monkeypatch.setattr(school_module.shutil, "which", lambda *args, **kwargs: None)
    fails_with(["--port", str(free_port())], "nginx is missing: install it (apt-get install nginx)")


def test_nginx_lets_through_the_largest_upload_the_app_takes():
    settings = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    template = (TEMPLATES / "default.conf.template").read_text()
    (allowed,) = re.findall(r"client_max_body_size (\d+)m;", template)
    assert int(allowed) >= settings["server"]["maxUploadSize"]


def test_a_process_that_keeps_stopping_is_started_again_then_left_stopped(tmp_path, monkeypatch):
    class Stopped:
        pid = 1

        def poll(self):
            return -9

    class Serving(Stopped):
        def poll(self):
            return None

    said, launched = [], []
    school = school_module.School(tmp_path, "http://127.0.0.1:1", {}, {"a:1": Stopped(), "b:2": Stopped()}, Serving())
    monkeypatch.setattr(school, "launch", lambda name: launched.append(name) or school.apps.update({name: Stopped()}))
    monkeypatch.setattr(school_module.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(school_module, "stop", lambda school: None)
    monkeypatch.setattr(school_module.signal, "signal", lambda *args: None)  # this test process's own SIGTERM stays
    assert school_module.serve(school, said.append) == 1
    assert launched == ["a:1", "b:2"] * school_module.RESTARTS
    lost = "deepviz school: the app process at a:1 stopped: its students reload and go on on another"
    assert said[0] == f"{lost}, and it is starting again"
    assert "it stopped 4 times, so it is left stopped (see app-a:1.log)" in said[-3]
    assert said[-1] == "deepviz school: every app process stopped"
    assert running(tmp_path)["apps"] == {"a:1": 1, "b:2": 1}
