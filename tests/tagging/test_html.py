"""tagger.tagging.html: one self-contained, escaped HTML page of tagged text."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest

from tagger.data.tokenizer import tokenize_flat
from tagger.data.types import TaggedSentence
from tagger.tagging.html import PALETTE, HtmlWriter, type_colour

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


class Page(HTMLParser):
    """The elements, the attributes and the text of a page, as a browser's parser sees them.

    ``text`` is the body's text less the entity labels (what a reader copies), ``labels`` those labels."""

    VOID = {"meta", "br", "img", "link", "input", "hr"}

    def __init__(self, source: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.titles: list[str] = []
        self.chunks: list[str] = []
        self.labels: list[str] = []
        self.open: list[str] = []  # what each open element holds: "text", "label" or "none" (style, title)
        self.feed(source)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append(tag)
        self.attributes.extend(attrs)
        self.titles.extend(v for k, v in attrs if k == "title")
        if tag in self.VOID:
            return
        label = {("class", "t"), ("class", "s")} & set(attrs)  # an entity's type or score label
        kind = "none" if tag in ("style", "title") else "label" if label else "text"
        self.open.append(kind if not self.open or self.open[-1] == "text" else self.open[-1])

    def handle_endtag(self, tag):
        if tag not in self.VOID:
            self.open.pop()

    def handle_data(self, data):
        where = self.open[-1] if self.open else "text"
        if where == "text":
            self.chunks.append(data)
        elif where == "label":
            self.labels.append(data)

    @property
    def text(self) -> str:
        return "".join(self.chunks)


def render_html(
    items: Iterable, scores: bool = False, types: Sequence[str] | None = None, title: str = "Tagged text"
) -> str:
    """One page of tagged sentences or documents (objects with ``sentences``) through ``HtmlWriter``."""
    writer = HtmlWriter(scores=scores, types=types, title=title)
    parts = [writer.head()]
    for item in items:
        if hasattr(item, "sentences"):
            parts.append(writer.end_paragraph())
            parts.extend(writer.sentence(s) for s in item.sentences)
            parts.append(writer.end_paragraph())
        else:
            parts.append(writer.sentence(item))
    parts.append(writer.tail())
    return "".join(parts)


def sentence(tokens, tags, scores=None) -> TaggedSentence:
    s = TaggedSentence(list(tokens), list(tags))
    s.entity_scores = scores
    return s


def raw_sentences(line: str, tags_per_sentence, start: int = 0) -> list[TaggedSentence]:
    """Sentences of one line of raw text, as the reader makes them (offsets into the line)."""
    found = tokenize_flat(line)
    assert len(found) == len(tags_per_sentence)
    return [TaggedSentence(tokens, tags, flat, line, start) for (tokens, flat), tags in zip(found, tags_per_sentence)]


def test_markup_in_tokens_is_shown_as_text():
    sentences = [
        sentence(["Say", SCRIPT, "now"], ["O", "B-PER", "O"]),
        sentence([IMG, "in", "Paris"], ["B-ORG", "O", "B-LOC"], scores=[0.5, 0.25]),
    ]
    page = Page(render_html(sentences, scores=True))
    assert "script" not in page.elements and "img" not in page.elements
    assert not any(name in ("src", "onerror") for name, _ in page.attributes)
    assert SCRIPT in page.text and IMG in page.text
    assert "alert" not in "".join(page.elements)


def test_markup_in_raw_text_and_in_type_names_is_shown_as_text():
    line = f"He wrote {SCRIPT} and {IMG} today."
    (found,) = tokenize_flat(line)
    odd = 'x" onmouseover="alert(1)'  # would end the title attribute and start another one, unescaped
    tags = ["B-<b>x</b>", "O", f"B-{odd}"] + ["O"] * (len(found[0]) - 3)
    page = Page(render_html(raw_sentences(line, [tags]), scores=True, title=SCRIPT))
    assert set(page.elements) <= {"html", "head", "meta", "title", "style", "body", "p", "mark", "span", "div"}
    assert not any(name.startswith("on") for name, _ in page.attributes)
    assert line in page.text
    assert page.labels == ["<b>x</b>", odd]  # the type labels, as text
    assert f"<b>x</b>{odd}" in page.text  # and the legend
    assert page.titles == ["<b>x</b>", odd]


def test_the_page_needs_nothing_from_outside():
    source = render_html([sentence(["Mary", "visited", "Rome"], ["B-PER", "O", "B-LOC"])])
    page = Page(source)
    assert "http" not in source.replace('http-equiv="Content-Security-Policy"', "")
    assert not any(name in ("src", "href") for name, _ in page.attributes)
    assert {"script", "link", "img", "iframe"}.isdisjoint(page.elements)
    assert "default-src 'none'" in source  # the browser refuses to load anything, should something slip in
    assert "<style>" in source


def test_raw_text_keeps_its_spacing_and_sentences_share_their_line():
    line = "Angela  Merkel met Macron.   Then she flew to Berlin."
    sentences = raw_sentences(line, [["B-PER", "I-PER", "O", "B-PER", "O"], ["O", "O", "O", "O", "B-LOC", "O"]])
    source = render_html(sentences)
    page = Page(source)
    assert line in page.text
    assert source.count("<p>") == 1  # one input line, one paragraph
    assert ">Angela  Merkel<" in source  # the entity keeps its own spacing


def test_token_input_joins_tokens_with_spaces():
    source = render_html([sentence(["New", "York", "is", "big", "."], ["B-LOC", "I-LOC", "O", "O", "O"])])
    page = Page(source)
    assert "New York is big ." in page.text
    assert source.count("<mark") == 2  # the entity and its legend entry


def test_each_type_has_one_colour_and_a_legend_entry():
    sentences = [
        sentence(["Ann", "saw", "Bob", "in", "Oslo"], ["B-PER", "O", "B-PER", "O", "B-LOC"]),
        sentence(["an", "iPhone"], ["O", "B-product"]),
    ]
    source = render_html(sentences)
    assert source.count(f"background:{type_colour('PER')}") == 3  # two entities and the legend
    assert len({type_colour(t) for t in ("PER", "LOC", "ORG", "MISC")}) == 4
    assert type_colour("product") in PALETTE
    assert type_colour("product") == "#cfd4dc"  # the same on every run (not Python's salted hash)
    legend = source[source.index('class="legend"') :]
    assert all(f">{t}</mark>" in legend for t in ("PER", "LOC", "product"))


def test_scores_show_on_hover_only_when_asked_for():
    tagged = [sentence(["Mary", "met", "John", "Smith"], ["B-PER", "O", "B-PER", "I-PER"], scores=[0.987, 0.5])]
    page = Page(render_html(tagged, scores=True))
    assert page.titles == ["PER 0.987", "PER 0.500"]
    assert page.labels == ["PER", "0.99", "PER", "0.50"]
    assert Page(render_html(tagged)).titles == ["PER", "PER"]
    tagged[0].entity_scores = [0.9]  # not one per entity: none shown rather than wrong ones
    assert Page(render_html(tagged, scores=True)).titles == ["PER", "PER"]


def test_the_streamed_page_is_the_whole_page():
    line = "Paris is in France. Rome is not."
    sentences = raw_sentences(line, [["B-LOC", "O", "O", "B-LOC", "O"], ["B-LOC", "O", "O", "O"]])
    sentences += [sentence(["Bob", "left"], ["B-PER", "O"])]
    writer = HtmlWriter()
    streamed = writer.head() + "".join(writer.sentence(s) for s in sentences) + writer.tail()
    assert streamed == render_html(sentences)
    assert Page(streamed).text.count(f"{line}\nBob left") == 1


def test_known_types_put_the_legend_first():
    writer = HtmlWriter(types=["LOC", "PER"])
    head = writer.head()
    assert 'class="legend"' in head
    assert 'class="legend"' not in writer.sentence(sentence(["x"], ["O"])) + writer.tail()


@pytest.mark.parametrize("kind", ["doc", "sentences"])
def test_documents_are_paragraphs_of_their_own(kind):
    text = "Rome is old."
    doc = SimpleNamespace(text=text, sentences=raw_sentences(text, [["B-LOC", "O", "O", "O"]]))
    items = [doc, doc] if kind == "doc" else doc.sentences + doc.sentences
    source = render_html(items)
    # the same line twice: as two documents, two paragraphs; as sentences of one stream, one line
    assert source.count("<p>") == (2 if kind == "doc" else 1)


@pytest.mark.slow
def test_a_real_browser_shows_the_markup_as_text(tmp_path):
    """Headless Chromium (from the OS packages; skipped where there is none) parses the page as we do."""
    import shutil
    import subprocess

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no chromium on the PATH")
    page = tmp_path / "page.html"
    page.write_text(render_html([sentence([SCRIPT, "in", IMG], ["B-PER", "O", "B-LOC"])]), encoding="utf-8")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
    profile = f"--user-data-dir={tmp_path / 'profile'}"
    done = subprocess.run(
        [browser, *flags, profile, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    dom = Page(done.stdout)
    assert "body" in dom.elements and "mark" in dom.elements
    assert "script" not in dom.elements and "img" not in dom.elements
    assert SCRIPT in dom.text and IMG in dom.text


def test_a_plain_label_set_is_shown_plainly_each_tag_after_its_token():
    sentence = TaggedSentence(["Ana", "<b>", "B-X"], ["NNP", "SYM", "B-LOC"], plain=True)
    page = render_html([sentence], types=[])
    assert "<mark" not in page.split("</style>")[1]  # no chunk is coloured, not even a chunk-shaped tag
    assert "Ana<sub" in page and ">NNP</sub>" in page and "&lt;b&gt;" in page and ">B-LOC</sub>" in page
    assert "Entity types" not in page
