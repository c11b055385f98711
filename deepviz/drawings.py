"""The class handwriting lab's drawings: each a digit a student drew, with its label, the student's
nickname, the class code and the time, kept in a database that survives the server's restarts.

SQLite in this user's data folder by default (created on first use); DEEPVIZ_DATABASE_URL, an
SQLAlchemy URL, for a school's PostgreSQL server. Both run the same schema through the same code.
Nothing about a student is kept beyond the nickname they chose: no address, no browser.

Every problem is a DrawingError of one sentence a student or teacher can read: a bad drawing,
label or nickname, a flood from one session, a full class, and a database that cannot be read or
written (a StoreError: the app then works on without the lab).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine

from deepviz.config import IMAGE_SIDE
from deepviz.preprocess import INK_THRESHOLD
from deepviz.store import private_folder

DATABASE_ENV = "DEEPVIZ_DATABASE_URL"
DATABASE_FILE = "drawings.sqlite3"
MAX_NICKNAME = 24  # characters
MAX_CLASS_CODE = 20
CLASS_CODE = re.compile(rf"[A-Za-z0-9-]{{1,{MAX_CLASS_CODE}}}")
# A spreadsheet reads a cell starting with one of these as a formula: the CSV export is opened in one.
FORMULA_STARTS = ("=", "+", "-", "@")
PIXELS = IMAGE_SIDE * IMAGE_SIDE
RATE_LIMIT = 30  # drawings one session may send per RATE_WINDOW: a student draws one every few seconds
RATE_WINDOW = timedelta(minutes=1)
MAX_PER_CLASS = 5_000  # 4 MB of pixels: a class drawing 0-9 five times each is 1,500
CONNECT_TIMEOUT_S = 10  # a PostgreSQL server that does not answer within it cannot be reached
BUSY_TIMEOUT_MS = 10_000  # how long an SQLite writer waits for another's commit; each takes milliseconds
# The PostgreSQL advisory lock every write holds, so that counting a session's drawings and adding
# one are one step however many servers share the database.
WRITE_LOCK = int.from_bytes(hashlib.sha256(b"deepviz.drawings").digest()[:8], "big", signed=True)
BACKENDS = ("sqlite", "postgresql")

metadata = sa.MetaData()
table = sa.Table(
    "drawings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("class_code", sa.String(MAX_CLASS_CODE), nullable=False, index=True),
    sa.Column("nickname", sa.String(MAX_NICKNAME), nullable=False),
    sa.Column("label", sa.SmallInteger, nullable=False),
    sa.Column("pixels", sa.LargeBinary(PIXELS), nullable=False),
    sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    # A digest of the browser session's id, only for its rate limit: the id itself is that tab's secret.
    sa.Column("session", sa.String(64), nullable=False),
    sa.Index("ix_drawings_session_created", "session", "created"),
)


class DrawingError(ValueError):
    """One sentence a student reads: what was wrong with a drawing, or why it was not kept."""


class StoreError(DrawingError):
    """The database cannot be reached, read or written: the app works on without the lab."""


@dataclass(frozen=True)
class Drawing:
    id: int
    class_code: str
    nickname: str
    label: int
    # 28 x 28 uint8, read-only: what the network received (deepviz.preprocess.prepare's image x 255, rounded).
    image: np.ndarray = field(compare=False, repr=False)
    created: datetime  # UTC


def data_folder() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or "~/.local/share").expanduser() / "deepviz"


def database_url() -> str:
    """DEEPVIZ_DATABASE_URL, else an SQLite file in this user's data folder, made (0700) if missing."""
    if os.environ.get(DATABASE_ENV):
        return os.environ[DATABASE_ENV]
    try:
        folder = private_folder(data_folder())
    except OSError as error:
        raise StoreError(f"The class drawings cannot be kept: {error}.") from error
    return str(URL.create("sqlite", database=str(folder / DATABASE_FILE)))


class Drawings:
    """The drawings of every class, in the database at `url` (an SQLAlchemy URL; None: database_url()).
    Safe to share between threads; any number of server processes may share one database."""

    def __init__(self, url: str | None = None):
        self.engine = engine(url or database_url())
        address = self.engine.url
        # For messages: the SQLite file, or the server's URL without its password.
        sqlite = address.get_backend_name() == "sqlite"
        self.where = str(address.database) if sqlite else address.render_as_string(hide_password=True)
        with self._writing("read") as connection:
            metadata.create_all(connection)

    def close(self) -> None:
        self.engine.dispose()

    def add(self, class_code: str, nickname: str, label: object, image: np.ndarray, session: str) -> Drawing:
        """Keep one drawing, committed before this returns, or raise DrawingError saying why not."""
        class_code = checked_class_code(class_code)
        nickname = checked_nickname(nickname)
        label = checked_label(label)
        pixels = checked_image(image)
        digest = hashlib.sha256(session.encode()).hexdigest()
        created = datetime.now(UTC)
        with self._writing("written") as connection:
            recent = sa.select(sa.func.count()).where(
                table.c.session == digest, table.c.created > created - RATE_WINDOW
            )
            if connection.execute(recent).scalar_one() >= RATE_LIMIT:
                raise DrawingError(
                    f"That is more than {RATE_LIMIT} drawings in a minute: wait a moment, then send the next one."
                )
            kept = sa.select(sa.func.count()).where(table.c.class_code == class_code)
            if connection.execute(kept).scalar_one() >= MAX_PER_CLASS:
                raise DrawingError(
                    f"This class already has {MAX_PER_CLASS:,} drawings, as many as one class can keep: "
                    "ask your teacher to delete some."
                )
            row = {
                "class_code": class_code,
                "nickname": nickname,
                "label": label,
                "pixels": pixels.tobytes(),
                "created": created,
                "session": digest,
            }
            new_id = connection.execute(table.insert().values(row).returning(table.c.id)).scalar_one()
        return Drawing(new_id, class_code, nickname, label, read_only(pixels), created)

    def of_class(self, class_code: str) -> list[Drawing]:
        """The class's drawings, oldest first."""
        class_code = checked_class_code(class_code)
        query = sa.select(table).where(table.c.class_code == class_code).order_by(table.c.id)
        with self._reading() as connection:
            rows = connection.execute(query).all()
        return [
            Drawing(
                row.id,
                row.class_code,
                row.nickname,
                row.label,
                read_only(np.frombuffer(bytes(row.pixels), np.uint8).reshape(IMAGE_SIDE, IMAGE_SIDE)),
                in_utc(row.created),
            )
            for row in rows
        ]

    def students(self, class_code: str) -> list[str]:
        """The nicknames that have drawings in the class, in alphabetical order."""
        class_code = checked_class_code(class_code)
        query = sa.select(table.c.nickname).where(table.c.class_code == class_code).distinct()
        with self._reading() as connection:
            nicknames = connection.scalars(query).all()
        return sorted(nicknames, key=lambda nickname: (nickname.casefold(), nickname))

    def delete_student(self, class_code: str, nickname: str) -> int:
        """Delete one student's drawings in the class; how many there were."""
        return self._delete(
            (table.c.class_code == checked_class_code(class_code)) & (table.c.nickname == checked_nickname(nickname))
        )

    def delete_class(self, class_code: str) -> int:
        return self._delete(table.c.class_code == checked_class_code(class_code))

    def _delete(self, which: sa.ColumnElement[bool]) -> int:
        with self._writing("written") as connection:
            return connection.execute(table.delete().where(which)).rowcount

    def csv(self, class_code: str) -> str:
        """One row a drawing, oldest first: id, nickname, label, created (ISO 8601, UTC) and the 784
        pixels (0-255), row by row, in columns pixel0 to pixel783 as in Kaggle's MNIST CSV."""
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(["id", "nickname", "label", "created", *(f"pixel{i}" for i in range(PIXELS))])
        for drawing in self.of_class(class_code):
            row = [drawing.id, drawing.nickname, drawing.label, drawing.created.isoformat()]
            writer.writerow(row + drawing.image.ravel().tolist())
        return text.getvalue()

    def npz(self, class_code: str) -> bytes:
        """The class's drawings, oldest first, as NumPy arrays (no pickles: np.load reads it with
        allow_pickle=False): images (n, 28, 28) uint8, labels uint8, nicknames str, created
        datetime64[us] in UTC, ids."""
        drawings = self.of_class(class_code)
        out = io.BytesIO()
        np.savez_compressed(
            out,
            images=np.array([d.image for d in drawings], np.uint8).reshape(-1, IMAGE_SIDE, IMAGE_SIDE),
            labels=np.array([d.label for d in drawings], np.uint8),
            nicknames=np.array([d.nickname for d in drawings], f"<U{MAX_NICKNAME}"),
            created=np.array([d.created.replace(tzinfo=None) for d in drawings], "datetime64[us]"),
            ids=np.array([d.id for d in drawings], np.int64),
        )
        return out.getvalue()

    @contextlib.contextmanager
    def _writing(self, action: str) -> Iterator[Connection]:
        """A transaction that no other writer runs beside, in any process: SQLite's BEGIN IMMEDIATE
        (see engine), PostgreSQL's advisory lock. Committed as it ends, or nothing of it kept."""
        with self._problems(action), self.engine.execution_options(write=True).begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(WRITE_LOCK)))
            yield connection

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Connection]:
        with self._problems("read"), self.engine.connect() as connection:
            yield connection

    @contextlib.contextmanager
    def _problems(self, action: str) -> Iterator[None]:
        """The database's errors, each as one sentence."""
        try:
            yield
        except sa.exc.SQLAlchemyError as error:
            cause = getattr(error, "orig", None) or error  # the driver's own error, where there is one
            reason = str(cause).strip().splitlines()[0].rstrip(".")
            # SQLite's SQLITE_FULL, or PostgreSQL's disk_full.
            if "database or disk is full" in reason or getattr(cause, "sqlstate", "") == "53100":
                raise StoreError(
                    f"The class drawings database at {self.where} is full (its disk has no room left): "
                    "nothing was saved."
                ) from error
            raise StoreError(f"The class drawings database at {self.where} cannot be {action}: {reason}.") from error


def from_settings() -> Drawings:
    return Drawings()


def engine(url: str) -> Engine:
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as error:
        raise StoreError(f"{DATABASE_ENV} is not a database URL: {error}.") from error
    if parsed.get_backend_name() not in BACKENDS:
        raise StoreError(f"deepviz keeps class drawings in SQLite or PostgreSQL, not {parsed.get_backend_name()}.")
    if parsed.drivername == "postgresql":  # SQLAlchemy's default driver for it, psycopg2, is not installed
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "postgresql":
        if "connect_timeout" not in parsed.query:  # a server that does not answer: a sentence, not a page that hangs
            parsed = parsed.update_query_dict({"connect_timeout": str(CONNECT_TIMEOUT_S)})
        # pool_pre_ping: a connection the database server dropped as it restarted is replaced, not used.
        return sa.create_engine(parsed, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        try:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"The class drawings database cannot be made at {parsed.database}: {error}.") from error
    created = sa.create_engine(parsed)
    event.listen(created, "connect", sqlite_connected)
    event.listen(created, "begin", sqlite_begin)
    return created


def sqlite_connected(connection, _record) -> None:
    """Every SQLite connection waits for another's write rather than failing at once, and uses the
    write-ahead log, where readers never wait for a writer. Python's sqlite3 module begins
    transactions itself, too late for a count and an insert to be one step: sqlite_begin does it."""
    connection.isolation_level = None
    cursor = connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()


def sqlite_begin(connection: Connection) -> None:
    """A writer takes SQLite's write lock as it begins: a transaction that read first and wrote later
    could find the database changed under it, and fail without waiting."""
    connection.exec_driver_sql("BEGIN IMMEDIATE" if connection.get_execution_options().get("write") else "BEGIN")


def checked_class_code(class_code: object) -> str:
    if not isinstance(class_code, str) or not CLASS_CODE.fullmatch(class_code):
        raise DrawingError(f"A class code is 1 to {MAX_CLASS_CODE} letters, digits or dashes.")
    return class_code


def checked_nickname(nickname: object) -> str:
    if not isinstance(nickname, str) or not nickname.strip():
        raise DrawingError("Please choose a nickname.")
    nickname = nickname.strip()
    if len(nickname) > MAX_NICKNAME:
        raise DrawingError(f"A nickname can be at most {MAX_NICKNAME} characters long.")
    if not nickname.isprintable():
        raise DrawingError("A nickname can only have letters, digits, punctuation, symbols and spaces.")
    if nickname.startswith(FORMULA_STARTS):
        raise DrawingError("A nickname cannot start with =, +, - or @.")
    return nickname


def checked_label(label: object) -> int:
    if isinstance(label, bool) or not isinstance(label, int | np.integer) or not 0 <= label <= 9:
        raise DrawingError("Choose which digit this is, from 0 to 9.")
    return int(label)


def checked_image(image: object) -> np.ndarray:
    """The drawing as 28 x 28 uint8: given so, or as floats from 0 to 1 (scaled and rounded)."""
    try:
        array = np.asarray(image)
    except (ValueError, TypeError) as error:  # numpy's, for lists of uneven lengths
        raise DrawingError("The drawing is not an image.") from error
    if array.dtype.kind not in "biuf":  # text, None, objects: not numbers
        raise DrawingError("The drawing is not an image.")
    if array.shape != (IMAGE_SIDE, IMAGE_SIDE):
        raise DrawingError(f"A drawing is {IMAGE_SIDE} x {IMAGE_SIDE} pixels, not {' x '.join(map(str, array.shape))}.")
    if array.dtype.kind == "f":
        if not (np.isfinite(array).all() and array.min() >= 0 and array.max() <= 1):
            raise DrawingError("A drawing's pixels are brightnesses from 0 to 1.")
        array = np.rint(array * 255).astype(np.uint8)
    elif array.dtype != np.uint8:
        raise DrawingError(f"A drawing's pixels are 0-255 (uint8) or 0-1 (floats), not {array.dtype}.")
    if not (array > INK_THRESHOLD * 255).any():
        raise DrawingError("The drawing is empty: draw a digit first.")
    return np.ascontiguousarray(array)


def read_only(array: np.ndarray) -> np.ndarray:
    array = array.copy() if array.flags.writeable else array
    array.flags.writeable = False
    return array


def in_utc(moment: datetime) -> datetime:
    """SQLite keeps a time without its zone, which deepviz always writes as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
