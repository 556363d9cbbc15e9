"""Errors a user can cause: one line naming the file and line, and the exit status the CLI gives them."""

from __future__ import annotations

from tagger.errors import DataError, ModelFileError, TaggerError, counted


def test_the_message_names_the_file_and_line_when_known():
    assert str(DataError("bad tag 'X'", "train.txt", 12)) == "train.txt:12: bad tag 'X'"
    assert str(ModelFileError("not a model file", "m.pt")) == "m.pt: not a model file"
    assert str(TaggerError("--lr must be positive")) == "--lr must be positive"


def test_counts_in_messages_are_singular_for_one():
    assert [counted(n, "column") for n in (0, 1, 2, 12000)] == ["0 columns", "1 column", "2 columns", "12000 columns"]
    assert counted(1, "entry", "entries") == "1 entry" and counted(3, "entry", "entries") == "3 entries"


def test_user_errors_are_status_2_and_subclasses_of_tagger_error():
    for error in (TaggerError("x"), DataError("x"), ModelFileError("x")):
        assert isinstance(error, TaggerError)
        assert error.exit_code == 2
