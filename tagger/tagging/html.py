"""Tagged text as one self-contained HTML page: entities highlighted by type, a legend, scores on hover.

The page makes no network requests and runs no script: the style is inline and a Content-Security-Policy
forbids everything else, so even a mistake in escaping could not load or run anything. Raw text keeps its
own spacing (through the tokens' offsets); token input joins tokens with spaces.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from html import escape

from tagger.data.schemes import to_spans

# Light backgrounds that keep black text readable; the usual types have fixed ones.
KNOWN = {
    "PER": "#b9d3ff",
    "PERSON": "#b9d3ff",
    "LOC": "#b6ebc4",
    "LOCATION": "#b6ebc4",
    "GPE": "#b6ebc4",
    "ORG": "#ffd39e",
    "ORGANIZATION": "#ffd39e",
    "CORPORATION": "#ffd39e",
    "MISC": "#e2cbf7",
}
PALETTE = ("#f7c5c5", "#c5ecf0", "#f5e6a3", "#d6e8b0", "#f3c9e6", "#cfd4dc", "#f9d9c0", "#c9dcd2")

STYLE = """
body { font: 17px/1.6 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1d1d1f;
       margin: 0; padding: 24px 32px; background: #fff; display: flex; flex-direction: column; }
.legend { order: -1; margin: 0 0 14px; font-size: 13px; color: #555; }
.legend .ent { margin-right: 6px; }
p { margin: 0 0 10px; line-height: 2.3; white-space: pre-wrap; max-width: 56em; }
.ent { padding: 3px 6px; border-radius: 5px; white-space: nowrap; }
.ent .t, .ent .s { user-select: none; }  /* copying the text copies the text, not the labels */
.ent .t { font-size: 11px; font-weight: 700; letter-spacing: .03em; text-transform: uppercase; margin-left: 5px;
          color: #333; vertical-align: 1px; }
.ent .s { font-size: 11px; color: #444; margin-left: 4px; }
"""


# A plain label set's tag, after its token; inline (the page's style sheet is the same for every model)
PLAIN_TAG = "font-size:11px;color:#666;margin-left:2px;user-select:none"


def type_colour(kind: str) -> str:
    """A background colour for an entity type, the same on every page and in every process."""
    known = KNOWN.get(kind.upper())
    if known:
        return known
    return PALETTE[zlib.crc32(kind.encode("utf-8")) % len(PALETTE)]


def _text(value: str) -> str:
    return escape(value, quote=True)


def _label(kind: str, score: float | None) -> tuple[str, str]:
    """The hover text attribute of an entity, and its visible type label (and score)."""
    tip = kind if score is None else f"{kind} {score:.3f}"
    score_text = "" if score is None else f'<span class="s">{score:.2f}</span>'
    return f'title="{_text(tip)}"', f'<span class="t">{_text(kind)}</span>{score_text}'


def _pieces(sentence) -> tuple[list[str], list[str], int, int]:
    """The sentence's tokens as shown, the text before each, and where in its line it starts and ends.

    Raw text shows each token as it stands in the line, with the text before it; token input
    shows the tokens with one space between them."""
    tokens = list(sentence.tokens)
    flat, line = getattr(sentence, "line_offsets", None), getattr(sentence, "text", None)
    if flat is None or line is None:
        return tokens, [""] + [" "] * (len(tokens) - 1), 0, 0
    shown, gaps, at = [], [], 0
    first = flat[0] if tokens else 0
    for i, token in enumerate(tokens):
        start, end = max(flat[2 * i], at), max(flat[2 * i + 1], at)
        found = line[start:end]
        gaps.append(line[at:start] if i else "")
        shown.append(found if found == token else token)  # the tokenizer may have changed the token
        at = max(at, end)
    return shown, gaps, first, at


class HtmlWriter:
    """The page in pieces: ``head()``, then ``sentence(s)`` for each sentence, then ``tail()``.

    ``types`` (the model's entity types) puts the legend at the top of the page as it streams;
    without it the legend lists the types seen and is written by ``tail()`` (and shown at the top).
    ``scores`` shows entity scores (``TaggedSentence.entity_scores``) where a sentence has them.
    """

    def __init__(self, scores: bool = False, types: Sequence[str] | None = None, title: str = "Tagged text"):
        self.scores = scores
        self.types = list(types) if types is not None else None
        self.title = title
        self.seen: dict[str, None] = {}  # types in order of first appearance
        self._line: tuple[str, int] | None = None  # the input line of the open paragraph, and its offset
        self._line_end = 0  # where in that line the last sentence ended

    def head(self) -> str:
        legend = self._legend(self.types) if self.types is not None else ""
        return (
            '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_text(self.title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{legend}"
        )

    def sentence(self, sentence) -> str:
        """One sentence: it continues the paragraph of its input line, or starts a new one."""
        shown, gaps, start, end = _pieces(sentence)
        text = getattr(sentence, "text", None)
        line = (text, getattr(sentence, "text_start", 0)) if text is not None else None
        out = []
        if line is None or line != self._line:
            out.append(self.end_paragraph() + "<p>")
            out.append(_text(text[:start]) if line is not None else "")
        else:
            out.append(_text(text[self._line_end : start]) if start >= self._line_end else " ")
        out.append(self._marked(sentence, shown, gaps))
        if line is None:
            out.append("</p>\n")
        self._line, self._line_end = line, end
        return "".join(out)

    def end_paragraph(self) -> str:
        """Close the open paragraph of raw text (with the rest of its line); call between documents."""
        if self._line is None:
            return ""
        rest = self._line[0][self._line_end :].rstrip("\r\n")
        self._line = None
        return _text(rest) + "</p>\n"

    def tail(self) -> str:
        legend = self._legend(list(self.seen)) if self.types is None else ""
        return self.end_paragraph() + legend + "</body>\n</html>\n"

    def _marked(self, sentence, shown: list[str], gaps: list[str]) -> str:
        if getattr(sentence, "plain", False):
            return _labelled(sentence.tags, shown, gaps)
        spans = to_spans(sentence.tags) if sentence.tags else []
        scores = getattr(sentence, "entity_scores", None) if self.scores else None
        if scores is not None and len(scores) != len(spans):
            scores = None  # not one per entity: show none rather than the wrong ones
        starts = {start: (kind, end, scores[n] if scores else None) for n, (kind, start, end) in enumerate(spans)}
        out, i = [], 0
        while i < len(shown):
            out.append(_text(gaps[i]))
            if i not in starts:
                out.append(_text(shown[i]))
                i += 1
                continue
            kind, end, score = starts[i]
            self.seen.setdefault(kind, None)
            inner = _text(shown[i]) + "".join(_text(gaps[j]) + _text(shown[j]) for j in range(i + 1, end))
            tip, label = _label(kind, score)
            out.append(f'<mark class="ent" style="background:{type_colour(kind)}" {tip}>{inner}{label}</mark>')
            i = end
        return "".join(out)

    def _legend(self, types: Iterable[str]) -> str:
        items = "".join(
            f'<mark class="ent" style="background:{type_colour(kind)}">{_text(kind)}</mark>' for kind in types
        )
        return f'<div class="legend">Entity types: {items}</div>\n' if items else ""


def _labelled(tags: Sequence[str], shown: list[str], gaps: list[str]) -> str:
    """A plain label set's tokens, each with its tag after it in small grey letters: no chunks to colour."""
    return "".join(
        _text(gap) + _text(token) + f'<sub style="{PLAIN_TAG}">{_text(tag)}</sub>'
        for gap, token, tag in zip(gaps, shown, tags)
    )
