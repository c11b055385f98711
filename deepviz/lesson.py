"""Lesson links: a URL that opens one page with one configuration, some controls hidden.

Like TensorFlow Playground's classroom links: a teacher sets up a network, picks what the
students should not change, and hands out the link (or its QR code, for phones). The link
is the configuration's query (see `ModelConfig.to_query`) plus `hide=`, a comma-separated
list of control groups, `projector=1` for the projector's large, high-contrast view, and
`class=`, the class code of the handwriting lab (Collect and Wall).
Reading a link never fails: unknown names are dropped and reported as messages, as
`ModelConfig.from_query` does for bad configuration values.

Hiding keeps a lesson focused; it is not a lock: anyone can edit the address bar.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import urlencode, urlsplit, urlunsplit

from deepviz.config import MAX_LINK_VALUE, ModelConfig, _shorten

HIDE_KEY = "hide"
# The control groups a link can hide, in the order `hide=` lists them, with what a teacher
# reads for each.
HIDEABLE = {
    "network": "Network editor (presets and layers on Build)",
    "training": "Training settings (on Build)",
    "menu": "Page menu (students stay on this page)",
}
NETWORK, TRAINING, MENU = HIDEABLE
PROJECTOR_KEY = "projector"
CLASS_KEY = "class"


def hide_value(hidden: Iterable[str]) -> str:
    """`hide=`'s value: the groups in HIDEABLE's order, comma-separated; "" when none."""
    hidden = set(hidden)
    if unknown := hidden - set(HIDEABLE):
        raise ValueError(f"cannot hide {', '.join(sorted(unknown))}: only {', '.join(HIDEABLE)}")
    return ",".join(group for group in HIDEABLE if group in hidden)


def parse_hide(raw: object) -> tuple[frozenset[str], list[str]]:
    """`hide=`'s value as a set of groups. Never raises: unknown names are left out and
    reported; case, spaces and empty or repeated names do not matter."""
    text = "" if raw is None else str(raw)
    if len(text) > MAX_LINK_VALUE:  # before splitting: see MAX_LINK_VALUE
        return frozenset(), [
            f"Ignored {HIDE_KEY}={_shorten(text)}: at most {MAX_LINK_VALUE} characters, got {len(text):,}."
        ]
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    unknown = list(dict.fromkeys(name for name in names if name not in HIDEABLE))
    problems = []
    if unknown:
        listed = ", ".join(_shorten(name, 20) for name in unknown[:3]) + (", ..." if len(unknown) > 3 else "")
        problems.append(f"Ignored {listed} in {HIDE_KEY}={_shorten(text)}: a link can hide only {', '.join(HIDEABLE)}.")
    return frozenset(name for name in names if name in HIDEABLE), problems


def parse_projector(raw: object) -> tuple[bool, list[str]]:
    """`projector=`'s value: 1 (or true, on, yes) for on, 0 (false, off, no) or nothing for off.
    Never raises: anything else is off, and reported."""
    text = "" if raw is None else str(raw).strip().lower()
    if text in ("1", "true", "on", "yes"):
        return True, []
    if text in ("", "0", "false", "off", "no"):
        return False, []
    return False, [f"Ignored {PROJECTOR_KEY}={_shorten(str(raw))}: use {PROJECTOR_KEY}=1 for projector mode."]


def parse_class(raw: object) -> tuple[str, list[str]]:
    """`class=`'s value: a class code of the handwriting lab, or "" for none. Never raises: a code
    the lab would refuse (deepviz.drawings says which it keeps) is left out and reported."""
    text = "" if raw is None else str(raw).strip()
    if not text:
        return "", []
    # Here, not at the top: the store loads SQLAlchemy, which only a link to a class needs.
    from deepviz.drawings import DrawingError, checked_class_code

    try:
        return checked_class_code(text), []
    except DrawingError as refused:
        return "", [f"Ignored {CLASS_KEY}={_shorten(text)}: {refused}"]


def lesson_query(
    config: ModelConfig, hidden: Iterable[str] = (), projector: bool = False, class_code: str = ""
) -> dict[str, str]:
    """The configuration's query, plus `hide` when any group is hidden, `projector` when on, and
    `class` when there is a class code the lab keeps (one half typed, or mistyped, stays out)."""
    value = hide_value(hidden)
    code, _ = parse_class(class_code)
    return (
        config.to_query()
        | ({HIDE_KEY: value} if value else {})
        | ({PROJECTOR_KEY: "1"} if projector else {})
        | ({CLASS_KEY: code} if code else {})
    )


class Lesson(NamedTuple):
    config: ModelConfig
    hidden: frozenset[str]
    projector: bool
    class_code: str
    problems: list[str]


def read_lesson(query: Mapping[str, str]) -> Lesson:
    """What a link's query asks for: the configuration, the hidden groups, projector mode, the
    class code, and the problems found (each bad value falls back to its default). Never raises."""
    config, problems = ModelConfig.from_query(dict(query))
    hidden, hide_problems = parse_hide(query.get(HIDE_KEY))
    projector, projector_problems = parse_projector(query.get(PROJECTOR_KEY))
    class_code, class_problems = parse_class(query.get(CLASS_KEY))
    return Lesson(config, hidden, projector, class_code, problems + hide_problems + projector_problems + class_problems)


def lesson_url(
    base_url: str, page_path: str, config: ModelConfig, hidden: Iterable[str] = (), class_code: str = ""
) -> str:
    """`base_url` (the app's root, such as http://host:8501; "" gives a path-only link) +
    the page's path ("" for the home page, "draw", ...) + the lesson's query.
    Commas stay unescaped: the link stays readable and its QR code smaller."""
    query = urlencode(lesson_query(config, hidden, class_code=class_code), safe=",")
    return f"{base_url.rstrip('/')}/{page_path.strip('/')}?{query}"


def app_root(page_url: str | None, page_path: str) -> str | None:
    """The app's root URL from a page's URL (what `st.context.url` gives: no query), or None
    when there is no usable URL. Only the page's own path comes off the end, so an app
    served under a path (`server.baseUrlPath`, or behind a proxy) keeps it."""
    if not page_url:
        return None
    parts = urlsplit(str(page_url))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    path = parts.path.rstrip("/")
    page = "/" + page_path.strip("/")
    if page != "/" and path.endswith(page):
        path = path.removesuffix(page)
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def is_local(url: str) -> bool:
    """Whether the URL names this computer only, so other devices (phones) cannot open it."""
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "0.0.0.0", "::1") or host.startswith("127.")


# What `server.address` is when the server listens on every network interface: unset
# (Streamlit's default), or the wildcard addresses.
ALL_INTERFACES = (None, "", "0.0.0.0", "::")


def network_address(listening: str | None, internal_ip: str | None) -> str | None:
    """The address other devices (phones) reach this server at: the one it listens on, or
    this computer's own on the network (Streamlit's "Network URL") when it listens on all.
    None when there is none: no network (Streamlit then says 127.0.0.1), or local only."""
    address = internal_ip if listening in ALL_INTERFACES else listening
    if not address or is_local(f"http://{host_part(address)}"):
        return None
    return address


def host_part(address: str) -> str:
    """The address as a URL names its host: IPv6 addresses in brackets."""
    return f"[{address}]" if ":" in address else address


def network_root(root: str, address: str, port: int) -> str:
    """`root`, the app's root URL as this computer's browser opened it (often localhost), as
    another device opens it: at `address` on the server's `port`, same scheme and path."""
    parts = urlsplit(root)
    return urlunsplit((parts.scheme, f"{host_part(address)}:{port}", parts.path, "", ""))


@lru_cache(maxsize=64)  # encoding takes 0.1-0.3 s in pure Python; the app asks on every rerun
def qr_png(url: str, scale: int = 5) -> bytes:
    """The URL as a QR code, a black-on-white PNG with the standard 4-module quiet zone.

    Always a full QR code (phone cameras do not read Micro QR), with medium error
    correction (segno raises it when that fits in the same size)."""
    import segno

    buffer = io.BytesIO()
    segno.make_qr(url, error="m").save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()
