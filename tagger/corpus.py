"""Tagged data sets: finding the files of a folder, checking their tags, the scheme they are in."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import DataError
from .reader import Sentence, read_conll
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


def find_data_files(directory: str | Path) -> dict[str, Path | None]:
    """The train, dev and test files of a folder (None where there is none)."""
    folder = Path(directory)
    if not folder.exists():
        raise DataError("no such folder", str(folder))
    if not folder.is_dir():
        raise DataError("not a folder (give a folder holding train/dev/test files, or use --train)", str(folder))
    found: dict[str, Path | None] = {}
    taken: set[Path] = set()
    for role in ("train", "dev", "test"):
        found[role] = None
        for pattern in ROLES[role]:
            candidates = sorted(
                p for p in folder.glob(pattern) if p.is_file() and p not in taken and not p.name.startswith(".")
            )
            if role == "test":
                candidates = [p for p in candidates if "testa" not in p.name]
            if candidates:
                found[role] = candidates[0]
                taken.add(candidates[0])
                break
    return found


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


def load_tagged(path: str | Path, tag_column: int = -1, scheme: str | None = None) -> TaggedData:
    """Read a tagged CoNLL file and check its tags against its scheme (detected unless given)."""
    name = str(path)
    sentences = read_conll(path, tag_column=tag_column, with_tags=True)
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
