"""Windows of sentences (``windows``): where each window ends (the writer flushes there), a chunk with its
documents packed for a worker, and windows of sentences already split into tokens ending where documents end."""

from __future__ import annotations

import io

from tagger.data import chunks, windows
from tagger.data.inputs import read_windows
from tagger.data.windows import WindowSentences
from tagger.tagging.model import open_model
from tagger.tagging.predictor import Predictor
from tagger.tagging.stream import tag_stream
from tagger.tagging.writer import write
from tests.contextual import (
    DocMaker,
    PlainMaker,
    grouped,
)


def test_window_sentences_say_where_each_window_ends():
    sentences = WindowSentences(iter([["a", "b"], [], ["c"]]))
    assert [(s, sentences.window_done) for s in sentences] == [("a", False), ("b", True), ("c", True)]


def test_the_writer_flushes_where_each_window_ends(trained_model):
    predictor = Predictor(open_model(trained_model))
    text = "".join(f"Mary met Bob {i} .\n" for i in range(12))
    found = read_windows(io.BytesIO(text.encode()), "<test>", "tokens", predictor.window_maker, window=5)

    class Out(io.StringIO):
        def __init__(self):
            super().__init__()
            self.flushed_at: list[int] = []  # sentences written at each flush

        def flush(self):
            self.flushed_at.append(self.getvalue().count("\n\n"))
            super().flush()

    out = Out()
    assert write(tag_stream(predictor, found), out) == 12
    assert out.flushed_at[:3] == [5, 10, 12]


def test_a_chunk_with_documents_reaches_a_worker_whole():
    import pickle
    from array import array

    chunk = chunks.DocChunk(["a b", "", "c"], array("q", [0, 0, 1]))
    copy = pickle.loads(pickle.dumps(chunk))
    assert copy == ["a b", "", "c"] and list(copy.docs) == [0, 0, 1]
    packed = windows.token_line_window(DocMaker(), copy)
    assert packed[-1] == ([["a", "b"], ["c"]], [0, 1])


def test_token_windows_end_where_documents_end(monkeypatch):
    from tagger.data.types import TaggedSentence

    monkeypatch.setattr(chunks, "DOC_MAX", 3)
    sentences = [TaggedSentence([f"s{i}"], []) for i in range(8)]
    one = list(windows.token_windows(sentences, DocMaker(), None, window=2))  # one document, cut after DOC_MAX
    assert grouped([arrays for _, arrays in one]) == [["s0", "s1", "s2"], ["s3", "s4", "s5"], ["s6", "s7"]]
    assert [s for chunk, _ in one for s in chunk] == sentences
    given = list(windows.token_windows(sentences, DocMaker(), [5, 5, 1, 1, 1, 1, "x", 5], window=2))
    assert grouped([arrays for _, arrays in given]) == [["s0", "s1"], ["s2", "s3", "s4"], ["s5"], ["s6"], ["s7"]]
    plain = list(windows.token_windows(sentences, PlainMaker(), None, window=3))
    assert [(len(chunk), arrays) for chunk, arrays in plain] == [(3, None), (3, None), (2, None)]
