"""Errors a user can cause: one line naming the file and line, and the exit status the CLI gives them."""

from __future__ import annotations

from tagger.errors import DataError, ModelFileError, TaggerError


def test_the_message_names_the_file_and_line_when_known():
    assert str(DataError("bad tag 'X'", "train.txt", 12)) == "train.txt:12: bad tag 'X'"
    assert str(ModelFileError("not a model file", "m.pt")) == "m.pt: not a model file"
    assert str(TaggerError("--lr must be positive")) == "--lr must be positive"


def test_user_errors_are_status_2_and_subclasses_of_tagger_error():
    for error in (TaggerError("x"), DataError("x"), ModelFileError("x")):
        assert isinstance(error, TaggerError)
        assert error.exit_code == 2
