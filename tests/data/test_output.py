"""Files written whole or not at all (``output.atomic_file``), as ``tag --output`` and the model file are."""

from __future__ import annotations

import os
import stat

import pytest

from tagger.data.output import atomic_file, new_file_mode
from tagger.errors import OutputError


def test_the_new_file_replaces_the_target_with_a_new_files_permissions(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    target.chmod(0o600)
    with atomic_file(target, "wb") as out:
        out.write(b"new \r\n")
    assert target.read_bytes() == b"new \r\n"
    assert stat.S_IMODE(target.stat().st_mode) == new_file_mode()
    assert os.listdir(tmp_path) == ["out.bin"]


def test_text_is_utf8_with_line_ends_as_written(tmp_path):
    target = tmp_path / "out.txt"
    with atomic_file(target) as out:
        out.write("é\r\n")
    assert target.read_bytes() == "é\r\n".encode()


def test_an_error_in_the_block_leaves_the_target_as_it_was_and_no_temporary_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_file(target) as out:
        out.write("half")
        raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_a_missing_folder_raises_what_failed_makes_of_it(tmp_path):
    target = tmp_path / "no" / "out.txt"
    with pytest.raises(FileNotFoundError), atomic_file(target):
        pass
    with pytest.raises(OutputError, match="cannot write the output: no such file"):
        with atomic_file(target, failed=OutputError):
            pass
