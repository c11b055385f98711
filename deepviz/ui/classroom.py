"""What a teacher uses in class, on every page: lesson links to share (with a QR code),
projector mode, and the guided tour."""

from __future__ import annotations

import streamlit as st

from deepviz.guide import TOUR, TOUR_SUMMARY, TUTORIAL
from deepviz.lesson import HIDEABLE, MENU, app_root, is_local, lesson_url, network_address, network_root, qr_png
from deepviz.ui.canvas import CANVAS_SCRIPT
from deepviz.ui.patches import internal_ip
from deepviz.ui.session import session


def share_popover(page) -> None:
    """The Share control, in the sidebar of every page (`page`: the one st.navigation picked):
    a lesson link to this page and configuration, hiding what the teacher ticks, and its QR code.

    Not drawn when the session's link hides the page menu. Such a link is a student's: it
    keeps them on the lesson's page with only what they need; a Share control there would
    be one more thing to click, and would hand out links as if from the teacher (with the
    controls the teacher hid shown again, if unticked). A teacher who wants to share again
    opens the app without `hide=menu`."""
    if MENU in session.lesson_hidden:
        return
    # Tracked (a rerun on opening), so that the QR code is made only when someone looks: an
    # image costs each run its PNG, and a fresh server's first page the import of NumPy.
    share = st.sidebar.popover("Share", icon=":material/share:", width="stretch", key="share", on_change="rerun")
    with share:
        hidden = st.multiselect(
            "Hide for students",
            list(HIDEABLE),
            default=sorted(session.lesson_hidden, key=list(HIDEABLE).index),
            format_func=HIDEABLE.__getitem__,
            key="share_hide",
            placeholder="Nothing: students see every control",
            help="What students who open the link will not see. Anyone can still edit the address bar: "
            "this keeps a lesson focused, it does not lock anything.",
        )
        root = app_root(st.context.url, page.url_path)
        if root is not None and is_local(root):
            root = network_choice(root)
        url = lesson_url(root or "", page.url_path, session.config, hidden, session.class_code)
        st.code(url, language=None, wrap_lines=True)
        # No st.caption or st.markdown here: the sidebar comes after the page in AppTest's
        # element lists, and page tests read the page's last captions and markdown.
        if root is None:
            st.info("Could not read this app's address: put it in front of this link before sharing it.")
            return
        if is_local(root):
            st.warning(
                "This address works on this computer only: for students' phones, "
                "open the app through its network address first.",
                icon=":material/wifi_off:",
            )
        if share.open:
            st.image(
                qr_png(url),
                width=260,
                alt="QR code of the lesson link",
                caption="Give students the link, or show them this code to scan with a phone: "
                "they get this page and this network, without the controls you hid.",
            )


def network_choice(root: str) -> str:
    """For a page opened on a local address (`root`), which phones cannot open: this server's
    network address instead, by default, where it has one."""
    address = network_address(st.get_option("server.address"), internal_ip())
    if address is None:
        return root
    network = network_root(root, address, st.get_option("server.port"))
    on = st.toggle(
        f"For students' phones: {network}",
        value=True,
        key="share_network",
        help="This computer's address on the local network: phones and other computers on the same "
        "network (Wi-Fi) open the link there. Off: the address this browser uses, for this computer only.",
    )
    return network if on else root


# Projector mode: large type and the most contrast a projector can give (pure white on pure
# black), and no small print: captions, help icons and the stroke-width slider are for the
# teacher's own screen, who says what they explain. Static CSS only, never user content.
PROJECTOR_CSS = """<style>
html { font-size: max(24px, 1.4vw); }
.stApp, [data-testid="stHeader"] { background-color: #000000; }
/* The page starts below the header (3.75rem), which would cover the top of the canvas. */
[data-testid="stMainBlockContainer"] { padding-top: 3.75rem; }
.stApp p, .stApp label, .stApp li, .stApp h1, .stApp h2, .stApp h3,
.stApp [data-testid="stMetricValue"] { color: #ffffff; }
/* Streamlit sets labels, tabs, buttons and table cells a little smaller than the text: not here. */
.stApp p, .stApp label, .stApp li, .stApp button, .stApp [data-testid="stMetricLabel"] *,
.stApp [data-testid="stMarkdownContainer"], .stApp [data-baseweb="tab"] *,
.stApp [data-testid="stFileUploaderDropzoneInstructions"] * { font-size: 1rem; }
.stApp [data-testid="stMetricValue"], .stApp [data-testid="stMetricValue"] * { font-size: 4rem; line-height: 1.1; }
[data-testid="stCaptionContainer"], [data-testid="stHeaderActionElements"],
.st-key-draw-stroke, .st-key-compare-stroke, .st-key-collect-stroke { display: none; }
/* Help icons go. The same tooltip element wraps each button that has help: those stay. */
[data-testid="stTooltipIcon"]:not(:has([data-testid^="stBaseButton"])) { display: none; }
</style>"""


def sidebar_switches() -> None:
    """Projector mode and the guided tour, on every page."""
    st.sidebar.toggle(
        "Projector mode",
        key="projector",
        on_change=session.share,
        help="For the back of a classroom: large type, high contrast, colour legends on every "
        "heatmap, no small print, sidebar folded away. The address bar keeps it (projector=1).",
    )
    if session.touring:
        st.sidebar.button(
            "End the guided tour", key="tour-end", on_click=session.end_tour, icon=":material/tour:", width="stretch"
        )
    else:
        st.sidebar.button(
            "Take the guided tour",
            key="tour-start",
            on_click=session.start_tour,
            icon=":material/tour:",
            width="stretch",
            help=TOUR_SUMMARY,
        )
    if session.projector:
        st.html(PROJECTOR_CSS)
    # Here, not with the canvas: a page's fragments cannot write to the sidebar.
    st.sidebar.html(CANVAS_SCRIPT, unsafe_allow_javascript=True)


def page_file(path: str) -> str:
    return f"pages/{path or 'home'}.py"


def tour_panel(page) -> None:
    """While the guided tour is on, its current step above the page (`page`: the one
    st.navigation picked): what to do, a way to that step's page, and Back and Next."""
    index = session.tour_step
    if index is None:  # not touring
        return
    step = TOUR[index]
    done = step.done is not None and step.done(session)
    with st.container(border=True, key="tour-panel"):
        tick = " :green[:material/check_circle: done]" if done else ""
        st.markdown(f"**Guided tour, step {index + 1} of {len(TOUR)}: {step.title}**{tick}")
        st.markdown(step.text)
        if index == 0 and session.config.layers != TUTORIAL.layers:
            st.button(
                "Set up the tutorial network",
                on_click=session.load_config,
                args=(TUTORIAL,),
                icon=":material/restart_alt:",
            )
        if page.url_path != step.page:
            st.page_link(
                page_file(step.page), label=f"Go to the {step.page.capitalize()} page", icon=":material/arrow_forward:"
            )
        back, forward, end = st.columns(3)
        if back.button("Back", disabled=index == 0, icon=":material/arrow_back:", width="stretch"):
            go_to_step(index - 1)
        if index == len(TOUR) - 1:
            forward.button("Finish", on_click=session.end_tour, type="primary", icon=":material/flag:", width="stretch")
        elif forward.button(
            "Next",
            type="primary" if done or step.done is None else "secondary",
            icon=":material/arrow_forward:",
            width="stretch",
        ):
            go_to_step(index + 1)
        end.button("End the tour", on_click=session.end_tour, width="stretch")


def go_to_step(index: int) -> None:
    session.tour_step = index
    st.switch_page(page_file(TOUR[index].page))
