"""Text from outside (a link, a file, the browser, the server's settings) shown in Streamlit's markdown."""

import re
import string

# Markdown would read a link's or a file's text as a live link, an image every student's
# browser fetches, a colour, an icon or LaTeX: every ASCII punctuation mark is escaped (CommonMark
# allows escaping any), and line breaks become spaces so that no line starts a block.
MARKDOWN_ESCAPES = str.maketrans({mark: "\\" + mark for mark in string.punctuation} | {"\r": " ", "\n": " "})
# GFM links bare addresses after escapes are resolved, so escaping cannot stop it: an invisible
# word joiner breaks the pattern instead ("http:" then "//", "www" then ".", and "@").
BARE_LINK_PARTS = re.compile(r"(?i)(?<=:)(?=//)|(?<=www)(?=\.)|(?<=@)")
WORD_JOINER = "\u2060"


def plain(text: object) -> str:
    """`text` shown as it is in any of Streamlit's markdown (st.warning, st.error, st.caption, help):
    for text that comes from a link, a file or the browser, which anyone can write."""
    return BARE_LINK_PARTS.sub(WORD_JOINER, str(text)).translate(MARKDOWN_ESCAPES)
