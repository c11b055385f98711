"""The class handwriting lab's store (deepviz.drawings), against SQLite and against a real PostgreSQL
server these tests start: every bad input refused with its sentence, 30 writers at once, restarts,
deletes, exports, a corrupt file and a full disk."""

import csv
import io
import os
import re
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from deepviz import drawings as store
from deepviz.drawings import DATABASE_ENV, MAX_NICKNAME, DrawingError, Drawings, StoreError, from_settings
from deepviz.preprocess import CANVAS_SIZE, prepare

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_BINARIES = Path("/usr/lib/postgresql")


def digit(label: int = 1) -> np.ndarray:
    """A 28 x 28 uint8 drawing, different for each label."""
    image = np.zeros((28, 28), np.uint8)
    image[6:22, 10 + label : 13 + label] = 255
    return image


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Postgres:
    url: str  # its database for these tests
    pg_ctl: list[str]  # pg_ctl for its data folder, as the user it runs as

    def restart(self) -> None:
        subprocess.run([*self.pg_ctl, "-m", "fast", "-w", "restart"], check=True, capture_output=True)


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server of its own, on a free port of 127.0.0.1, for this test run. Postgres
    refuses to run as root, so as root it runs as the postgres user that Debian's package makes."""
    found = sorted(POSTGRES_BINARIES.glob("*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL is not installed: apt-get install -y postgresql (these tests start a real server).")
    binaries = found[-1].parent
    # runuser is in /usr/sbin, which a non-login shell's PATH (CI's) may leave out.
    runuser = shutil.which("runuser", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin") or "runuser"
    as_postgres = [runuser, "-u", "postgres", "--"] if os.geteuid() == 0 else []
    folder = Path(tempfile.mkdtemp(prefix="deepviz-postgres-"))
    if as_postgres:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", free_port()
    # -F: no fsync. These tests restart the app and the database server, not the machine.
    options = f"-p {port} -h 127.0.0.1 -k {folder} -F"
    pg_ctl = [*as_postgres, str(binaries / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-o", options]
    try:
        initdb = [*as_postgres, str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
        subprocess.run([*initdb, "-E", "UTF8", "--no-sync"], check=True, capture_output=True)
        subprocess.run([*pg_ctl, "-w", "start"], check=True, capture_output=True)
        createdb = [*as_postgres, str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
        subprocess.run([*createdb, "deepviz"], check=True, capture_output=True)
        yield Postgres(f"postgresql+psycopg://postgres@127.0.0.1:{port}/deepviz", pg_ctl)
        subprocess.run([*pg_ctl, "-m", "immediate", "-w", "stop"], check=True, capture_output=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def emptied(url: str) -> str:
    """`url`, its database now without drawings: tests share the server's one database."""
    engine = sa.create_engine(url)
    store.metadata.drop_all(engine)
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    """An empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/drawings.sqlite3"
    return emptied(request.getfixturevalue("postgres").url)


@pytest.fixture
def drawings(url):
    opened = Drawings(url)
    yield opened
    opened.close()


def sqlite_file(url: str) -> Path:
    return Path(sa.make_url(url).database)


# Validation: each bad input, its sentence, and nothing kept.

CLASS_CODE = "A class code is 1 to 20 letters, digits or dashes."
NO_NICKNAME = "Please choose a nickname."
LONG_NICKNAME = f"A nickname can be at most {MAX_NICKNAME} characters long."
UNPRINTABLE = "A nickname can only have letters, digits, punctuation, symbols and spaces."
FORMULA = "A nickname cannot start with =, +, - or @."
LABEL = "Choose which digit this is, from 0 to 9."
EMPTY = "The drawing is empty: draw a digit first."
BRIGHTNESS = "A drawing's pixels are brightnesses from 0 to 1."

GOOD = {"class_code": "7B-2026", "nickname": "Ann", "label": 3, "image": digit(3), "session": "s"}
BAD = [
    ("class_code", "", CLASS_CODE),
    ("class_code", "x" * 21, CLASS_CODE),
    ("class_code", "7 B", CLASS_CODE),
    ("class_code", "7B/../x", CLASS_CODE),
    ("class_code", "7B'; DROP TABLE drawings; --", CLASS_CODE),
    ("class_code", "Klasse-Ä", CLASS_CODE),
    ("class_code", None, CLASS_CODE),
    ("class_code", 7, CLASS_CODE),
    ("nickname", "", NO_NICKNAME),
    ("nickname", " \t ", NO_NICKNAME),
    ("nickname", None, NO_NICKNAME),
    ("nickname", "x" * (MAX_NICKNAME + 1), LONG_NICKNAME),
    ("nickname", "tab\there", UNPRINTABLE),
    ("nickname", "two\nlines", UNPRINTABLE),
    ("nickname", "nul\x00", UNPRINTABLE),
    ("nickname", "bell\x07", UNPRINTABLE),
    ("nickname", "\u202eevil", UNPRINTABLE),  # right-to-left override: shows text backwards
    ("nickname", "zero\u200bwidth", UNPRINTABLE),
    ("nickname", '=HYPERLINK("http://x")', FORMULA),
    ("nickname", " +1", FORMULA),
    ("nickname", "-x-", FORMULA),
    ("nickname", "@ann", FORMULA),
    ("label", None, LABEL),
    ("label", True, LABEL),
    ("label", False, LABEL),
    ("label", "3", LABEL),
    ("label", 3.0, LABEL),
    ("label", np.float64(3), LABEL),
    ("label", -1, LABEL),
    ("label", 10, LABEL),
    ("image", np.zeros((28, 28), np.uint8), EMPTY),
    ("image", np.zeros((28, 28), np.float32), EMPTY),
    ("image", np.full((28, 28), 0.04), EMPTY),  # below deepviz.preprocess's ink threshold everywhere
    ("image", digit()[:, :27], "A drawing is 28 x 28 pixels, not 28 x 27."),
    ("image", np.zeros((280, 280, 4), np.uint8), "A drawing is 28 x 28 pixels, not 280 x 280 x 4."),
    ("image", digit()[None], "A drawing is 28 x 28 pixels, not 1 x 28 x 28."),
    ("image", "a digit", "The drawing is not an image."),
    ("image", None, "The drawing is not an image."),
    ("image", np.full((28, 28), "x"), "The drawing is not an image."),
    ("image", [[1], [1, 2]], "The drawing is not an image."),
    ("image", digit() / 255 * 1.5, BRIGHTNESS),
    ("image", digit() / 255 - 0.5, BRIGHTNESS),
    ("image", np.where(digit() > 0, np.nan, 0.0), BRIGHTNESS),
    ("image", np.where(digit() > 0, np.inf, 0.0), BRIGHTNESS),
    ("image", digit().astype(np.int64), "A drawing's pixels are 0-255 (uint8) or 0-1 (floats), not int64."),
    ("image", digit() > 0, "A drawing's pixels are 0-255 (uint8) or 0-1 (floats), not bool."),
]


@pytest.mark.parametrize(("field", "value", "sentence"), BAD, ids=[f"{f}={v!r}"[:40] for f, v, _ in BAD])
def test_a_bad_input_is_refused_with_its_sentence_and_nothing_kept(drawings, field, value, sentence):
    with pytest.raises(DrawingError) as refused:
        drawings.add(**{**GOOD, field: value})
    assert str(refused.value) == sentence
    assert drawings.of_class(GOOD["class_code"]) == []


@pytest.mark.parametrize(
    "nickname",
    ["**bold** _it_", "<b>hi</b><img src=x>", "[x](javascript:alert(1))", "# Ann", "Robert'); DROP TABLE"],
)
def test_markdown_and_html_nicknames_are_kept_as_written(drawings, nickname):
    drawings.add(**{**GOOD, "nickname": nickname})
    assert [d.nickname for d in drawings.of_class(GOOD["class_code"])] == [nickname]
    assert drawings.students(GOOD["class_code"]) == [nickname]


def test_a_nickname_is_stripped_and_may_be_any_printable_text_up_to_its_length(drawings):
    for nickname in ["  Ann  ", "Zoë 🦊", "x" * MAX_NICKNAME, "李小龍", "a-b=c+@"]:
        drawings.add(**{**GOOD, "nickname": nickname})
    assert [d.nickname for d in drawings.of_class("7B-2026")] == [
        "Ann",
        "Zoë 🦊",
        "x" * MAX_NICKNAME,
        "李小龍",
        "a-b=c+@",
    ]


def test_labels_0_to_9_are_kept_numpy_integers_too(drawings):
    for label in [*range(10), np.int64(7), np.uint8(2)]:
        drawings.add(**{**GOOD, "label": label, "session": str(label)})
    labels = [d.label for d in drawings.of_class("7B-2026")]
    assert labels == [*range(10), 7, 2] and all(type(label) is int for label in labels)


def test_the_drawing_kept_is_what_the_network_receives(drawings):
    """The pages pass deepviz.preprocess.prepare's image, floats from 0 to 1: kept as x 255, rounded."""
    canvas = np.zeros((CANVAS_SIZE, CANVAS_SIZE, 4), np.uint8)
    canvas[60:220, 130:160] = 255
    prepared = prepare(canvas).image
    kept = drawings.add(**{**GOOD, "image": prepared})
    expected = np.rint(prepared * 255).astype(np.uint8)
    assert kept.image.dtype == np.uint8 and np.array_equal(kept.image, expected)
    (read,) = drawings.of_class("7B-2026")
    assert np.array_equal(read.image, expected) and read == kept


def test_a_drawing_is_read_back_as_it_was_added(drawings):
    before = datetime.now(UTC)
    added = drawings.add("7B", " Ann ", 4, digit(4), "s")
    assert added.class_code == "7B" and added.nickname == "Ann" and added.label == 4
    assert before <= added.created <= datetime.now(UTC) and added.created.tzinfo == UTC
    (read,) = drawings.of_class("7B")
    assert read == added and np.array_equal(read.image, digit(4)) and read.created == added.created
    assert not read.image.flags.writeable and not added.image.flags.writeable


def test_classes_are_kept_apart_and_read_oldest_first(drawings):
    for label in (5, 1, 8):
        drawings.add("7B", "Ann", label, digit(label), "s")
        drawings.add("7C", "Bo", label, digit(label), "s")
    assert [d.label for d in drawings.of_class("7B")] == [5, 1, 8]
    assert {d.nickname for d in drawings.of_class("7C")} == {"Bo"}
    assert drawings.of_class("7b") == []  # class codes are exact
    assert drawings.of_class("8A") == []


# Floods: a session's rate and a class's size, counted in the database.

RATE = "That is more than 30 drawings in a minute: wait a moment, then send the next one."


def test_one_session_may_send_30_drawings_a_minute(drawings, monkeypatch):
    for _ in range(30):
        drawings.add(**GOOD)
    with pytest.raises(DrawingError, match=f"^{re.escape(RATE)}$"):
        drawings.add(**GOOD)
    assert len(drawings.of_class("7B-2026")) == 30
    drawings.add(**{**GOOD, "session": "another tab"})
    monkeypatch.setattr(store, "RATE_WINDOW", timedelta(seconds=0.2))
    time.sleep(0.3)
    drawings.add(**GOOD)
    assert len(drawings.of_class("7B-2026")) == 32


def test_a_session_sending_40_drawings_at_once_gets_30_kept(drawings):
    """Counting and adding are one step: 40 threads at once cannot all count 29."""
    start, kept, refused = threading.Barrier(40), [], []

    def send():
        start.wait()
        try:
            kept.append(drawings.add(**GOOD).id)
        except DrawingError as error:
            refused.append(str(error))

    threads = [threading.Thread(target=send) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(kept) == 30 and refused == [RATE] * 10
    assert len(drawings.of_class("7B-2026")) == 30


def test_a_full_class_takes_no_more(drawings, monkeypatch):
    monkeypatch.setattr(store, "MAX_PER_CLASS", 3)
    for _ in range(3):
        drawings.add(**GOOD)
    with pytest.raises(DrawingError) as refused:
        drawings.add(**{**GOOD, "session": "another"})
    assert (
        str(refused.value)
        == "This class already has 3 drawings, as many as one class can keep: ask your teacher to delete some."
    )
    drawings.add(**{**GOOD, "class_code": "7C"})
    drawings.delete_student("7B-2026", "Ann")
    drawings.add(**GOOD)
    assert len(drawings.of_class("7B-2026")) == 1


# Many writers at once, and restarts.


def test_30_students_sending_at_once_lose_nothing(drawings):
    start, ids, errors = threading.Barrier(30), {}, []

    def student(n):
        start.wait()
        try:
            ids[n] = [drawings.add("7B", f"student {n}", k, digit(k), f"tab {n}").id for k in range(3)]
        except DrawingError as error:  # recorded: a thread's exception would not fail the test
            errors.append(error)

    threads = [threading.Thread(target=student, args=(n,)) for n in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    read = drawings.of_class("7B")
    assert len(read) == 90 and len({d.id for d in read}) == 90
    assert {d.id for d in read} == {i for sent in ids.values() for i in sent}
    assert all(d.nickname == f"student {n}" for n, sent in ids.items() for d in read if d.id in sent)
    assert len(drawings.students("7B")) == 30


WRITER = """
import os, signal, sys, time
from deepviz.drawings import Drawings, DrawingError
from tests.test_drawings import digit
url, me, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
drawings = Drawings(url)
time.sleep(max(0.0, start - time.time()))
for n in range(20):
    try:
        print(drawings.add("7B", me, n % 10, digit(n % 10), me if n % 2 else "one tab for all").id, flush=True)
    except DrawingError as error:
        print(error, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # no goodbye: what was added must already be in the database
"""


@pytest.mark.slow
def test_4_server_processes_at_once_lose_nothing_and_share_one_rate_limit(url):
    """Four processes, as four app servers on one database, each killed as it finishes: every
    drawing each was told was kept is there, and a session sending to all four is still held to 30."""
    start = time.time() + 4  # after all four have imported deepviz
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, url, f"server {n}", str(start)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for n in range(4)
    ]
    outputs = [writer.communicate(timeout=120)[0].split("\n")[:-1] for writer in writers]
    assert [writer.returncode for writer in writers] == [-signal.SIGKILL] * 4
    told = [line for output in outputs for line in output]
    ids = {int(line) for line in told if line.isdigit()}
    assert len(told) == 80 and len(ids) == 70 and told.count(RATE) == 10
    read = Drawings(url).of_class("7B")
    assert {d.id for d in read} == ids and len(read) == 70
    assert all(sum(d.nickname == f"server {n}" for d in read) >= 10 for n in range(4))


def test_a_restarted_server_sees_every_drawing(url):
    first = Drawings(url)
    added = [first.add("7B", name, label, digit(label), name) for name in ("Ann", "Bo") for label in range(4)]
    first.close()
    again = Drawings(url)
    read = again.of_class("7B")
    assert read == added and all(np.array_equal(a.image, b.image) for a, b in zip(read, added))
    again.add("7B", "Cy", 9, digit(9), "Cy")
    assert [d.nickname for d in again.of_class("7B")][-1] == "Cy"
    again.close()


# A teacher's deletes and exports.


def test_a_teacher_deletes_a_student_or_the_class(drawings):
    for name in ("bo", "Ann", "Cy", "ann"):
        for label in range(3):
            drawings.add("7B", name, label, digit(label), name)
    drawings.add("7C", "Ann", 1, digit(1), "other class")
    assert drawings.students("7B") == ["Ann", "ann", "bo", "Cy"]
    assert drawings.delete_student("7B", " Ann ") == 3
    assert drawings.students("7B") == ["ann", "bo", "Cy"]
    assert drawings.delete_student("7B", "Ann") == 0
    assert drawings.students("7C") == ["Ann"]
    assert drawings.delete_class("7B") == 9
    assert drawings.of_class("7B") == [] and drawings.students("7B") == []
    assert len(drawings.of_class("7C")) == 1
    assert drawings.delete_class("7B") == 0


def test_deletes_check_what_they_are_given(drawings):
    drawings.add(**GOOD)
    with pytest.raises(DrawingError, match=re.escape(CLASS_CODE)):
        drawings.delete_class("%")
    with pytest.raises(DrawingError, match=re.escape(NO_NICKNAME)):
        drawings.delete_student("7B-2026", " ")
    assert len(drawings.of_class("7B-2026")) == 1


def some_drawings(drawings):
    names = ['Ann, "the" <b>first</b>', "Zoë 🦊", "**Bo**"]
    return [drawings.add("7B", name, label, digit(label), name) for label in range(10) for name in names]


def test_the_csv_holds_every_drawing(drawings):
    added = some_drawings(drawings)
    rows = list(csv.reader(io.StringIO(drawings.csv("7B"))))
    assert rows[0] == ["id", "nickname", "label", "created", *(f"pixel{i}" for i in range(784))]
    assert len(rows) == 1 + len(added)
    for row, drawing in zip(rows[1:], added, strict=True):
        assert int(row[0]) == drawing.id and row[1] == drawing.nickname and int(row[2]) == drawing.label
        assert datetime.fromisoformat(row[3]) == drawing.created
        assert np.array_equal(np.array(row[4:], np.uint8).reshape(28, 28), drawing.image)
    assert drawings.csv("8A").splitlines() == [",".join(rows[0])]


def test_the_npz_holds_every_drawing_without_pickles(drawings):
    added = some_drawings(drawings)
    with np.load(io.BytesIO(drawings.npz("7B")), allow_pickle=False) as saved:
        assert saved["images"].dtype == np.uint8 and saved["images"].shape == (30, 28, 28)
        assert np.array_equal(saved["images"], np.array([d.image for d in added]))
        assert saved["labels"].tolist() == [d.label for d in added]
        assert saved["nicknames"].tolist() == [d.nickname for d in added]
        assert saved["ids"].tolist() == [d.id for d in added]
        assert [t.replace(tzinfo=UTC) for t in saved["created"].tolist()] == [d.created for d in added]
    with np.load(io.BytesIO(drawings.npz("8A")), allow_pickle=False) as empty:
        assert empty["images"].shape == (0, 28, 28) and empty["labels"].shape == (0,)


# Where the drawings are kept, and a database that cannot be used.


def test_by_default_the_drawings_are_in_a_folder_of_this_users_own_made_on_first_use(tmp_path, monkeypatch):
    monkeypatch.delenv(DATABASE_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    folder = tmp_path / "data" / "deepviz"
    drawings = from_settings()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    drawings.add(**GOOD)
    drawings.close()
    assert sqlite3.connect(folder / "drawings.sqlite3").execute("SELECT count(*) FROM drawings").fetchone() == (1,)


def test_a_data_folder_others_can_write_to_is_not_used(tmp_path, monkeypatch):
    monkeypatch.delenv(DATABASE_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    folder = tmp_path / "deepviz"
    folder.mkdir()
    folder.chmod(0o777)
    with pytest.raises(StoreError) as refused:
        from_settings()
    assert str(refused.value) == (
        f"The class drawings cannot be kept: {folder} can be written to by other users: deepviz keeps nothing there."
    )
    assert not (folder / "drawings.sqlite3").exists()


def test_the_database_url_setting_is_used(tmp_path, monkeypatch):
    monkeypatch.setenv(DATABASE_ENV, f"sqlite:///{tmp_path}/new/folder/class.db")
    from_settings().add(**GOOD)
    assert (tmp_path / "new" / "folder" / "class.db").exists()


@pytest.mark.parametrize(
    ("url", "sentence"),
    [
        ("not a url", "DEEPVIZ_DATABASE_URL is not a database URL: "),
        ("mysql://someone@school/class", "deepviz keeps class drawings in SQLite or PostgreSQL, not mysql."),
    ],
)
def test_a_database_deepviz_cannot_use_is_one_sentence(url, sentence):
    with pytest.raises(StoreError) as refused:
        Drawings(url)
    assert str(refused.value).startswith(sentence) and str(refused.value).count("\n") == 0


def test_sqlite_connections_use_the_write_ahead_log_and_wait_for_each_other(tmp_path):
    drawings = Drawings(f"sqlite:///{tmp_path}/d.sqlite3")
    with drawings.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == store.BUSY_TIMEOUT_MS


def test_a_corrupt_file_is_one_sentence_when_opened_or_when_used(tmp_path):
    path = tmp_path / "drawings.sqlite3"
    path.write_bytes(np.random.default_rng(0).bytes(16_384))
    with pytest.raises(StoreError) as refused:
        Drawings(f"sqlite:///{path}")
    assert str(refused.value) == f"The class drawings database at {path} cannot be read: file is not a database."

    drawings = Drawings(f"sqlite:///{tmp_path}/later.sqlite3")
    drawings.add(**GOOD)
    drawings.close()  # its connections closed, as if the server restarted
    (tmp_path / "later.sqlite3").write_bytes(b"garbage" * 4096)
    for use in (lambda: drawings.of_class("7B-2026"), lambda: drawings.add(**GOOD)):
        with pytest.raises(StoreError, match=r"^The class drawings database at .* cannot be \w+: .*\.$"):
            use()


def test_a_full_disk_is_one_sentence_and_keeps_no_partial_drawing(tmp_path):
    """SQLite's max_page_count, a documented limit, makes it fail as on a full disk ("database or
    disk is full"): the database may not grow past the pages it has now."""
    path = tmp_path / "drawings.sqlite3"
    drawings = Drawings(f"sqlite:///{path}")
    pages = sqlite3.connect(path).execute("PRAGMA page_count").fetchone()[0]
    sa.event.listen(
        drawings.engine, "connect", lambda connection, _: connection.execute(f"PRAGMA max_page_count = {pages}")
    )
    drawings.engine.dispose()
    kept = []

    def fill():
        for n in range(100):
            kept.append(drawings.add(**{**GOOD, "session": str(n)}).id)

    with pytest.raises(StoreError) as full:
        fill()
    assert (
        str(full.value)
        == f"The class drawings database at {path} is full (its disk has no room left): nothing was saved."
    )
    assert [d.id for d in drawings.of_class("7B-2026")] == kept
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone() == ("ok",)
    drawings.close()
    Drawings(f"sqlite:///{path}").add(**GOOD)  # with room again, it works on


def test_a_restarted_database_server_is_connected_to_again(postgres):
    drawings = Drawings(emptied(postgres.url))
    drawings.add("restart", "Ann", 1, digit(1), "s")
    postgres.restart()  # the pool's connections are now closed by the server
    drawings.add("restart", "Ann", 2, digit(2), "s")
    assert [d.label for d in drawings.of_class("restart")] == [1, 2]
    drawings.close()


def test_a_postgresql_url_without_a_driver_uses_psycopg(postgres):
    drawings = Drawings(emptied(postgres.url).replace("+psycopg", ""))
    assert drawings.engine.url.drivername == "postgresql+psycopg"
    drawings.add("driver", "Ann", 1, digit(1), "s")
    assert [d.nickname for d in drawings.of_class("driver")] == ["Ann"]
    drawings.close()


def test_a_postgresql_server_that_is_not_there_is_one_sentence():
    url = f"postgresql+psycopg://someone:secret@127.0.0.1:{free_port()}/deepviz"
    with pytest.raises(StoreError) as refused:
        Drawings(url)
    message = str(refused.value)
    assert message.startswith("The class drawings database at postgresql+psycopg://someone:***@127.0.0.1:")
    assert "cannot be read: " in message and "secret" not in message and "\n" not in message
