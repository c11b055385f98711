import io
import itertools
from dataclasses import replace
from urllib.parse import parse_qsl, urlsplit

import pytest
import segno
import streamlit
from apptest import app, no_errors, open_page, shown
from PIL import Image
from streamlit.testing.v1 import AppTest

from deepviz.config import PRESETS, ModelConfig
from deepviz.lesson import (
    HIDE_KEY,
    HIDEABLE,
    app_root,
    hide_value,
    is_local,
    lesson_query,
    lesson_url,
    network_address,
    network_root,
    parse_class,
    parse_hide,
    parse_projector,
    qr_png,
    read_lesson,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_back(url: str):
    parts = urlsplit(url)
    return parts.path, read_lesson(dict(parse_qsl(parts.query, keep_blank_values=True)))


# The library


EVERY_CHOICE = [set(c) for n in range(len(HIDEABLE) + 1) for c in itertools.combinations(HIDEABLE, n)]


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("hidden", EVERY_CHOICE)
def test_a_lesson_url_reads_back_as_its_page_configuration_and_hidden_controls(preset, hidden):
    config = PRESETS[preset]
    url = lesson_url("http://school.example:8501/", "draw", config, hidden)
    assert url.startswith("http://school.example:8501/draw?layers=")
    path, (read_config, read_hidden, projector, class_code, problems) = read_back(url)
    assert (path, read_config, read_hidden, projector, class_code, problems) == ("/draw", config, hidden, False, "", [])
    assert (HIDE_KEY in url) == bool(hidden)


def test_the_link_lists_hidden_groups_in_a_fixed_order_and_keeps_commas_readable():
    url = lesson_url("https://host/app", "", PRESETS["Small CNN"], ["menu", "network"])
    assert url.startswith("https://host/app/?layers=conv-16-3-relu,pool-2,")
    assert url.endswith("&hide=network,menu")
    assert lesson_query(ModelConfig(), ()) == ModelConfig().to_query()
    assert lesson_url("", "build", ModelConfig()).startswith("/build?layers=")  # no address known: a path
    with pytest.raises(ValueError, match="only network, training, menu"):
        hide_value(["sidebar"])


def test_the_configuration_ignores_the_hide_key():
    assert ModelConfig.from_query({"hide": "network,menu"}) == (ModelConfig(), [])
    query = PRESETS["Deep net"].to_query() | {"hide": "whatever"}
    assert ModelConfig.from_query(query) == (PRESETS["Deep net"], [])


@pytest.mark.parametrize(
    ("raw", "hidden", "reported"),
    [
        (None, set(), None),
        ("", set(), None),
        (" , ,", set(), None),
        ("Network, MENU ,menu", {"network", "menu"}, None),
        ("training,sidebar", {"training"}, "'sidebar'"),
        ("teacher,teacher,x", set(), "'teacher', 'x'"),
        (12345, set(), "'12345'"),
        ("x" * 500, set(), "..."),
    ],
)
def test_a_bad_hide_value_never_raises_and_unknown_names_are_reported(raw, hidden, reported):
    got, problems = parse_hide(raw)
    assert got == hidden
    if reported is None:
        assert problems == []
    else:
        assert len(problems) == 1 and reported in problems[0] and "network, training, menu" in problems[0]
        assert len(problems[0]) < 200  # a garbled link gives a readable message


def test_reading_a_link_reports_configuration_and_hide_problems_together():
    config, hidden, projector, class_code, problems = read_lesson(
        {"epochs": "-1", "hide": "network,bogus", "other": "1", "projector": "maybe"}
    )
    assert config == ModelConfig() and hidden == {"network"} and not projector and class_code == ""
    assert len(problems) == 3 and "epochs='-1'" in problems[0] and "'bogus'" in problems[1]
    assert "projector='maybe'" in problems[2] and "projector=1" in problems[2]


def test_a_class_code_goes_into_the_link_and_a_bad_one_is_reported_and_left_out():
    url = lesson_url("http://school.example:8501", "collect", ModelConfig(), {"menu"}, "7B-maths")
    assert url.endswith("&hide=menu&class=7B-maths")
    assert read_back(url) == ("/collect", (ModelConfig(), {"menu"}, False, "7B-maths", []))
    assert lesson_query(ModelConfig(), class_code="7B maths") == ModelConfig().to_query()  # one being typed
    assert parse_class(" 7B ") == ("7B", [])
    assert parse_class(None) == parse_class("") == ("", [])
    for bad in ("7B maths", "<b>7B</b>", "x" * 21, "x" * 100_000):
        code, problems = parse_class(bad)
        assert code == "" and len(problems) == 1 and len(problems[0]) < 200
        assert "class=" in problems[0] and "1 to 20 letters, digits or dashes" in problems[0]


@pytest.mark.parametrize(
    ("raw", "on"),
    [(None, False), ("", False), ("0", False), ("off", False), ("1", True), (" On ", True), ("true", True)],
)
def test_projector_mode_reads_from_the_link(raw, on):
    assert parse_projector(raw) == (on, [])


def test_projector_mode_stays_in_the_address_but_not_in_a_shared_link():
    query = lesson_query(ModelConfig(), {"menu"}, projector=True)
    assert query == ModelConfig().to_query() | {"hide": "menu", "projector": "1"}
    assert read_lesson(query) == (ModelConfig(), {"menu"}, True, "", [])
    assert "projector" not in lesson_url("http://school.example:8501", "draw", ModelConfig(), {"menu"})


@pytest.mark.parametrize(
    ("page_url", "page_path", "root"),
    [
        ("http://localhost:8501/draw", "draw", "http://localhost:8501"),
        ("http://localhost:8501/", "", "http://localhost:8501"),
        ("http://localhost:8501", "", "http://localhost:8501"),
        ("https://school.example/deepviz/build/", "build", "https://school.example/deepviz"),
        ("https://school.example/redraw", "other", "https://school.example/redraw"),  # not this page's path
        ("https://school.example/redraw", "draw", "https://school.example/redraw"),  # only whole path parts
        ("https://school.example/deepviz", "", "https://school.example/deepviz"),
        (None, "draw", None),
        ("", "", None),
        ("not a url", "", None),
        ("file:///tmp/x", "", None),
    ],
)
def test_the_app_root_is_the_page_url_without_the_page(page_url, page_path, root):
    assert app_root(page_url, page_path) == root


def test_local_addresses_are_recognised():
    assert is_local("http://localhost:8501") and is_local("http://127.0.0.1:8501/x")
    assert not is_local("http://192.168.1.20:8501") and not is_local("https://school.example")


@pytest.mark.parametrize(
    ("listening", "internal_ip", "address"),
    [
        (None, "192.168.1.23", "192.168.1.23"),  # Streamlit's default: every interface
        ("0.0.0.0", "10.0.0.7", "10.0.0.7"),
        ("10.0.0.5", "192.168.1.23", "10.0.0.5"),  # only the address the server listens on works
        (None, "127.0.0.1", None),  # what Streamlit says when this computer has no network
        (None, None, None),
        ("127.0.0.1", "192.168.1.23", None),  # listening on this computer only
        ("localhost", "192.168.1.23", None),
    ],
)
def test_the_network_address_is_where_the_server_listens_for_other_devices(listening, internal_ip, address):
    assert network_address(listening, internal_ip) == address


def test_a_local_root_moves_to_the_network_address_keeping_scheme_and_path():
    assert network_root("http://localhost:8501", "192.168.1.23", 8501) == "http://192.168.1.23:8501"
    assert network_root("https://127.0.0.1:9000/deepviz", "10.0.0.5", 8502) == "https://10.0.0.5:8502/deepviz"
    assert network_root("http://[::1]:8501", "fd00::5", 8501) == "http://[fd00::5]:8501"
    assert not is_local(network_root("http://localhost:8501", "192.168.1.23", 8501))


def modules(png: bytes, scale: int = 5, border: int = 4) -> list[list[int]]:
    """The dark (1) and light (0) modules of a QR code PNG, read at each module's centre."""
    image = Image.open(io.BytesIO(png)).convert("L")
    side = image.width // scale - 2 * border

    def centre(i: int) -> int:
        return (border + i) * scale + scale // 2

    return [[int(image.getpixel((centre(x), centre(y))) < 128) for x in range(side)] for y in range(side)]


def test_the_qr_code_is_a_png_of_segnos_encoding_of_the_link_and_grows_with_it():
    short = lesson_url("http://host:8501", "", ModelConfig())
    server = "https://a-long-school-server-name.example.org/deepviz"
    long = lesson_url(server, "insights", PRESETS["Deep net"], HIDEABLE)
    sizes = []
    for url in (short, long):
        png = qr_png(url)
        assert png.startswith(PNG_SIGNATURE)
        expected = segno.make_qr(url, error="m")
        image = Image.open(io.BytesIO(png))
        assert image.size == expected.symbol_size(scale=5, border=4)
        assert modules(png) == [list(row) for row in expected.matrix]
        assert expected.error in ("M", "Q", "H") and not expected.is_micro
        sizes.append(image.width)
    assert sizes[1] > sizes[0]


# The app


def share_popover(at: AppTest):
    found = [block for block in at.sidebar.children.values() if getattr(block, "type", "") == "popover"]
    assert len(found) <= 1
    return found[0] if found else None


def test_a_link_hiding_the_network_shows_no_layer_editor_on_build():
    query = PRESETS["Small CNN"].to_query() | {HIDE_KEY: "network"}
    at = open_page(query, "build")
    no_errors(at)
    labels = [b.label for b in at.button]
    assert not set(labels) & {"Remove", "Add Dense layer", "Add Conv layer", "Tutorial MLP", "Small CNN"}
    assert not any(s.label in ("Filters", "Units", "Pool size") for s in [*at.slider, *at.select_slider])
    assert any("fixed the network" in i.value for i in at.info)
    assert "Conv 16x3x3 relu" in " ".join(m.value for m in at.markdown)
    assert at.dataframe[0].value["Layer"][1] == "conv1"  # the summary still shows the network
    # The training settings are still there, and a change keeps the link's hide in the address bar.
    at.select_slider(key=f"{at.session_state.build_version}-batch").set_value(128).run()
    assert at.session_state.config == replace(PRESETS["Small CNN"], batch_size=128)
    assert at.query_params["batch"] == "128" and at.query_params[HIDE_KEY] == "network"
    no_errors(at)


def test_a_link_hiding_the_training_settings_keeps_them_and_the_layer_editor():
    query = ModelConfig(epochs=7).to_query() | {HIDE_KEY: "training"}
    at = open_page(query, "build")
    no_errors(at)
    assert not [s for s in at.selectbox if s.label == "Optimizer"]
    assert not [s for s in at.slider if s.label == "Epochs"]
    assert any("fixed the training settings" in i.value for i in at.info)
    assert "7 epochs" in " ".join(c.value for c in at.caption)
    next(b for b in at.button if b.label == "Add Dense layer").click().run()
    assert at.session_state.config.epochs == 7 and len(at.session_state.config.layers) == 3
    no_errors(at)


def test_a_link_hiding_the_menu_hides_the_navigation_and_the_share_control(monkeypatch):
    positions = []
    real = streamlit.navigation

    def spy(pages, **kwargs):
        positions.append(kwargs.get("position", "sidebar"))
        return real(pages, **kwargs)

    monkeypatch.setattr(streamlit, "navigation", spy)
    at = open_page({HIDE_KEY: "menu"}, "build", url="http://school.example:8501/build")
    no_errors(at)
    assert positions and set(positions) == {"hidden"}
    assert share_popover(at) is None
    assert at.query_params[HIDE_KEY] == "menu"
    positions.clear()
    at = open_page({}, "build", url="http://school.example:8501/build")
    assert positions and set(positions) == {"sidebar"}
    assert share_popover(at) is not None


def test_the_share_control_links_to_this_page_and_configuration_with_a_qr_code():
    config = PRESETS["Small CNN"]
    at = open_page(config.to_query(), "build", url="http://school.example:8501/build")
    no_errors(at)
    popover = share_popover(at)
    assert popover.proto.popover.label == "Share"
    assert popover.code[0].value == lesson_url("http://school.example:8501", "build", config)
    assert not popover.image  # the QR code is made only once the popover is opened
    at.session_state["share"] = True
    popover = share_popover(at.run())
    assert len(popover.image) == 1
    assert "phone" in popover.image[0].captions[0]
    popover.multiselect[0].set_value(["menu", "network"]).run()
    popover = share_popover(at)
    link = popover.code[0].value
    assert link == lesson_url("http://school.example:8501", "build", config, {"network", "menu"})
    assert read_back(link) == ("/build", (config, {"network", "menu"}, False, "", []))
    assert HIDE_KEY not in at.query_params  # the teacher's own page hides nothing
    no_errors(at)


def test_the_share_control_on_the_home_page_without_a_known_address():
    at = app(ModelConfig(epochs=4).to_query())
    no_errors(at)
    at.session_state["share"] = True
    popover = share_popover(at.run())
    assert popover.code[0].value == lesson_url("", "", ModelConfig(epochs=4))
    assert not popover.image
    assert "Could not read this app's address" in popover.info[0].value


def test_a_local_address_warns_that_phones_cannot_open_it_without_a_network(monkeypatch):
    monkeypatch.setattr(streamlit.net_util, "get_internal_ip", lambda: "127.0.0.1")  # Streamlit's "none"
    at = app({}, url="http://localhost:8501/")
    popover = share_popover(at)
    assert not popover.toggle
    assert popover.code[0].value.startswith("http://localhost:8501/?layers=")
    assert "this computer only" in popover.warning[0].value


def test_a_local_address_offers_the_network_address_for_phones(monkeypatch):
    monkeypatch.setattr(streamlit.net_util, "get_internal_ip", lambda: "192.168.1.23")
    config = PRESETS["Small CNN"]
    at = open_page(config.to_query(), "draw", url="http://localhost:8501/draw")
    no_errors(at)
    popover = share_popover(at)
    (switch,) = popover.toggle
    assert switch.label == "For students' phones: http://192.168.1.23:8501" and switch.value
    assert popover.code[0].value == lesson_url("http://192.168.1.23:8501", "draw", config)
    assert not popover.warning
    import deepviz.ui.classroom

    encoded = []
    monkeypatch.setattr(deepviz.ui.classroom, "qr_png", lambda url: encoded.append(url) or qr_png(url))
    at.session_state["share"] = True
    assert share_popover(at.run()).image and encoded == [popover.code[0].value]  # the phones' link
    switch.set_value(False).run()
    popover = share_popover(at)
    assert popover.code[0].value == lesson_url("http://localhost:8501", "draw", config)
    assert "this computer only" in popover.warning[0].value


def test_a_garbled_hide_value_is_reported_and_ignored():
    at = open_page({HIDE_KEY: "network,teacher-only"}, "build")
    assert "'teacher-only'" in " ".join(shown(w.value) for w in at.warning)
    assert not [b for b in at.button if b.label == "Add Dense layer"]
    assert at.query_params[HIDE_KEY] == "network"
