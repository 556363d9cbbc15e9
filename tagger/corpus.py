"""Tagged data sets: finding the files of a folder, checking their tags, the scheme they are in."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import DataError
from .reader import STDIN, UTF8, Sentence, read_conll
from .schemes import (
    PREFIXES,
    SCHEMES,
    convert,
    detect_scheme,
    invalid_positions,
    split_tag,
)

# Name patterns of the files that `tagger train DIR` looks for, in order of preference.
ROLES = {
    "train": ("train*", "*train*"),
    "dev": ("dev*", "valid*", "*testa*", "*dev*", "*valid*"),
    "test": ("test*", "*testb*"),
}
ROLE_NAMES = {"train": "training", "dev": "development", "test": "test"}


def _matches(folder: Path, role: str, taken: set[Path]) -> list[Path]:
    """The files of ``folder`` that could play ``role``, best first (earlier pattern, then name)."""
    found: list[Path] = []
    for pattern in ROLES[role]:
        for path in sorted(folder.glob(pattern)):
            hidden = path.name.startswith(".")
            dev_of_conll = role == "test" and "testa" in path.name  # eng.testa is CoNLL-2003's dev set
            if path.is_file() and path not in taken and path not in found and not hidden and not dev_of_conll:
                found.append(path)
    return found


def _all_matches(directory: str | Path) -> dict[str, list[Path]]:
    folder = Path(directory)
    if not folder.exists():
        raise DataError("no such folder", str(folder))
    if not folder.is_dir():
        raise DataError("not a folder (give a folder holding train/dev/test files, or use --train)", str(folder))
    matches: dict[str, list[Path]] = {}
    taken: set[Path] = set()
    for role in ROLES:
        matches[role] = _matches(folder, role, taken)
        taken.update(matches[role][:1])
    return matches


def find_data_files(directory: str | Path) -> dict[str, Path | None]:
    """The train, dev and test files of a folder (None where there is none)."""
    return {role: found[0] if found else None for role, found in _all_matches(directory).items()}


@dataclass
class DataFiles:
    """The files of a training run, and notes on how they were picked (for stderr)."""

    train: Path
    dev: Path | None = None
    test: Path | None = None
    notes: list[str] = field(default_factory=list)


def data_files(
    directory: str | Path | None = None,
    train: str | Path | None = None,
    dev: str | Path | None = None,
    test: str | Path | None = None,
) -> DataFiles:
    """The files of ``tagger train [DIR] [--train F] [--dev F] [--test F]``: a file given beats DIR's."""
    given = {"train": train, "dev": dev, "test": test}
    matches = _all_matches(directory) if directory is not None else {role: [] for role in ROLES}
    picked: dict[str, Path | None] = {}
    notes = []
    for role, found in matches.items():
        if given[role] is not None:
            picked[role] = Path(given[role])
            continue
        picked[role] = found[0] if found else None
        if len(found) > 1:
            others = ", ".join(p.name for p in found[1:])
            notes.append(
                f"{directory} has {len(found)} {ROLE_NAMES[role]} files: using {found[0].name}, not {others} "
                f"(--{role} FILE picks another)"
            )
    if picked["train"] is None:
        if directory is None:
            raise DataError("no training file (give DIR or --train FILE)")
        looked = ", ".join(ROLES["train"])
        raise DataError(f"no training file in {directory} (looked for {looked}; or give --train FILE)")
    return DataFiles(picked["train"], picked["dev"], picked["test"], notes)


@dataclass
class TaggedData:
    path: str
    sentences: list[Sentence]
    scheme: str
    warnings: list[str] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        return sum(len(s.tokens) for s in self.sentences)

    def types(self) -> set[str]:
        return {split_tag(t)[1] for s in self.sentences for t in s.tags or () if t != "O"}

    def tags_in(self, scheme: str) -> list[list[str]]:
        """Every sentence's tags rewritten in ``scheme`` (repairing as conlleval reads them)."""
        return [convert(s.tags or [], scheme) for s in self.sentences]


def load_tagged(
    path: str | Path, tag_column: int = -1, scheme: str | None = None, encoding: str = UTF8
) -> TaggedData:
    """Read a tagged CoNLL file (stdin for ``-``; in ``encoding``) and check its tags against its scheme
    (detected unless given)."""
    name = STDIN if str(path) == "-" else str(path)
    sentences = read_conll(path, tag_column=tag_column, with_tags=True, encoding=encoding)
    if scheme is None:
        scheme = detect_scheme(s.tags for s in sentences)
    elif scheme not in SCHEMES:
        raise DataError(f"unknown tag scheme {scheme!r}; expected one of {', '.join(SCHEMES)}")
    allowed = PREFIXES[scheme] + "O"
    broken: list[int] = []
    for sentence in sentences:
        for i, tag in enumerate(sentence.tags or ()):
            if tag[0] not in allowed:
                raise DataError(
                    f"{tag!r} is not a tag of the {scheme.upper()} scheme of this file "
                    f"(prefixes {', '.join(PREFIXES[scheme])})",
                    name,
                    sentence.line + i,
                )
        bad = invalid_positions(sentence.tags or [], scheme)
        if bad:
            broken.append(sentence.line + bad[0])
    warnings = []
    if broken:
        warnings.append(
            f"{name}:{broken[0]}: {len(broken)} sentence(s) have tag sequences that are not valid {scheme.upper()} "
            f"(for example I-X after O); read as conlleval reads them (such an I-X starts an entity)"
        )
    return TaggedData(name, sentences, scheme, warnings)
