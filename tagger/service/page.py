"""The page at ``/``: a text box, and the text tagged by ``HtmlWriter`` (``tagger tag --format html``'s writer).

The page holds no script and its content security policy forbids any, so a ``<script>`` in the text is shown,
never run. ``GET /?text=...`` shows a text too, for a link.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from urllib.parse import parse_qs

from tagger.data.types import TaggedSentence
from tagger.tagging.html import HtmlWriter

FORM_STYLE = (
    "form { margin: 0 0 1.5em } textarea { width: 100%; box-sizing: border-box; font: 15px/1.5 sans-serif }"
    " button { margin-top: .5em; font-size: 15px }"
)


def page(types: Sequence[str], text: str = "", sentences: Sequence[TaggedSentence] = (), error: str = "") -> str:
    """The whole page: the form holding ``text``, then its ``sentences`` as ``--format html`` shows them."""
    writer = HtmlWriter(scores=False, types=types, title="tagger")
    head = writer.head().replace("</style>", f"\n{FORM_STYLE}</style>", 1)
    form = (
        '<form method="post" action="/">\n'
        f'<textarea name="text" rows="6" autofocus placeholder="Text to tag">{escape(text)}</textarea><br>\n'
        '<button type="submit">Tag</button>\n</form>\n'
    )
    shown = f'<p class="error">{escape(error)}</p>\n' if error else ""
    body = "".join(writer.sentence(sentence) for sentence in sentences) + writer.end_paragraph()
    return head + form + shown + f'<div id="tagged">\n{body}</div>\n' + writer.tail()


def form_text(body: bytes) -> str | None:
    """The ``text`` field of a posted form (``application/x-www-form-urlencoded``), or None."""
    values = parse_qs(body.decode("utf-8", errors="strict"), keep_blank_values=True, max_num_fields=10)
    found = values.get("text")
    return found[0] if found else None
