"""tagger.tagging.job_input: --jobs input cut into chunks of whole lines that end where documents end, with
their character offsets; CoNLL sent as token lines."""

from __future__ import annotations

import io


def _chunk_lines(chunks) -> list[list[str]]:
    return [data.decode("utf-8").splitlines() for data, _ in chunks]


def test_line_chunks_end_where_documents_end(monkeypatch):
    """For every model: the parent never loads it, so it cannot ask whether it reads context."""
    from tagger.data import chunks
    from tagger.tagging import job_input

    monkeypatch.setattr(chunks, "DOC_MAX", 3)
    data = b"a1\na2\n\nb1\nb2\nb3\nb4\n \t\nc1\n"
    chunks = list(job_input.line_chunks(io.BytesIO(data), "in.txt", 2))
    assert _chunk_lines(chunks) == [["a1", "a2", ""], ["b1", "b2", "b3"], ["b4", " \t"], ["c1"]]
    assert [position for _, position in chunks] == [0, 7, 16, 22]  # characters before each chunk


def test_a_byte_order_mark_opening_the_input_is_no_text_and_one_later_is():
    from tagger.tagging import job_input

    marked = list(job_input._blank_marked(io.BytesIO(b"\xef\xbb\xbf\r\n\xef\xbb\xbf\n \t\nx\n"), "in.txt", None))
    assert [blank for _, blank, _, _ in marked] == [True, False, True, False]


def test_conll_goes_as_token_lines_with_a_blank_line_where_a_document_starts(monkeypatch):
    """The worker reads token lines, where a blank line ends a document: its documents are the reader's
    (Sentence.doc, numbered at each -DOCSTART-), cut after DOC_MAX sentences."""
    from types import SimpleNamespace

    from tagger.data import chunks
    from tagger.tagging import job_input

    monkeypatch.setattr(chunks, "DOC_MAX", 3)
    docs = [0, 0, 1, 1, 1, 1, 1, 2]
    sentences = [SimpleNamespace(tokens=[f"s{i}", "x"], doc=d) for i, d in enumerate(docs)]
    monkeypatch.setattr(job_input, "iter_conll", lambda stream, name, with_tags: iter(sentences))
    chunks = list(job_input.conll_chunks(io.BytesIO(b""), "in.txt", 5))
    assert _chunk_lines(chunks) == [["s0 x", "s1 x", "", "s2 x", "s3 x", "s4 x"], ["s5 x", "s6 x", "", "s7 x"]]
    chunks = list(job_input.conll_chunks(io.BytesIO(b""), "in.txt", 2))
    assert _chunk_lines(chunks) == [["s0 x", "s1 x"], ["s2 x", "s3 x", "s4 x"], ["s5 x", "s6 x"], ["s7 x"]]
