"""The drawing pad's script (deepviz/ui/canvas.py, CANVAS_SCRIPT) in Chromium, on a bare page,
against the order in which Streamlit mounts a canvas: nothing else on the page changes, so
nothing can hide a step the script misses.

Streamlit's BidiComponent inserts the canvas's host element, then attaches its shadow root in
a later React effect (a separate task), then the component fills the root. The script first
saw only the insertion, when the host had no root yet, and styled nothing until some other
change to the page woke it: on a page that fell quiet, the canvas kept its toolbar, which lay
over where a pen-written 3 starts, and swallowed the whole digit (the 1920x1080 projector
test's lost drawing, in 3 of 5 CI runs; docs/canvas-first-stroke.md)."""

import pytest

from deepviz.ui.canvas import CANVAS_SCRIPT

HOST = "[data-testid=stBidiComponentIsolated]"

# Streamlit's order: the host now; its root in the next task; the component's content in the one after.
MOUNT = """async () => {
    const host = document.createElement("div");
    host.dataset.testid = "stBidiComponentIsolated";
    document.body.append(host);
    await new Promise((done) => setTimeout(done, 0));
    const root = host.attachShadow({mode: "open"});
    await new Promise((done) => setTimeout(done, 0));
    root.innerHTML = `<div class="dc-root"><div class="dc-toolbar">undo</div>
        <div class="dc-container"><canvas class="upper-canvas" width="280" height="280"></canvas></div></div>`;
}"""
TOOLBAR_SHOWN = f"""() => getComputedStyle(
    document.querySelector("{HOST}").shadowRoot.querySelector(".dc-toolbar")).display !== "none" """


@pytest.fixture
def bare_page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_content(f"<body>{CANVAS_SCRIPT}</body>")
    yield page
    context.close()


@pytest.mark.parametrize("pad", ["280px", "660px"])
def test_a_canvas_whose_root_comes_after_its_host_is_styled_on_a_quiet_page(bare_page, pad):
    bare_page.evaluate(f"document.body.style.setProperty('--deepviz-pad', '{pad}')")
    bare_page.evaluate(MOUNT)
    bare_page.wait_for_timeout(500)  # many frames: the page is quiet from here on
    assert not bare_page.evaluate(TOOLBAR_SHOWN), "the canvas's toolbar still shows, over the canvas"
    size = bare_page.locator(f"{HOST} canvas").bounding_box()
    assert (size["width"], size["height"]) == (int(pad[:-2]), int(pad[:-2]))
