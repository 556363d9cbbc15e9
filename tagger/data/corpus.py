"""Tagged data sets: finding the files of a folder, checking their tags, the scheme they are in."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tagger.data.formats import read_tagged
from tagger.data.reader import STDIN, UTF8, Sentence
from tagger.data.schemes import (
    DATA_SCHEMES,
    PLAIN,
    PREFIXES,
    convert,
    detect_kind,
    detect_scheme,
    invalid_positions,
    labels,
    tag_problem,
)
from tagger.errors import DataError, counted

# Name patterns of the files that `tagger train DIR` looks for (a UD treebank's are LANG_NAME-ud-train.conllu, -dev,
# -test).
ROLES = {
    "train": ("train*", "*train*"),
    "dev": ("dev*", "valid*", "*testa*", "*dev*", "*valid*"),
    "test": ("test*", "*testb*", "*-ud-test.conllu"),
}
ROLE_NAMES = {"train": "training", "dev": "development", "test": "test"}
# The names a role's file conventionally has: the word alone with a data file's extension (train.txt, dev.conll),
# the word as the extension (CoNLL-2003's eng.train, eng.testa), a UD treebank's -ud-train.conllu, or any .conll.
ROLE_WORDS = {
    "train": ("train", "training"),
    "dev": ("dev", "valid", "validation", "development", "testa"),
    "test": ("test", "testb"),
}
DATA_SUFFIXES = (".txt", ".conll", ".conllu", ".json", ".jsonl", ".tsv", ".bio", ".iob", ".iob2", ".bioes")


def _rank(path: Path, role: str) -> int:
    """How plainly ``path`` is ``role``'s file: 0, a conventional name; 1, another data file's name (dev-old.txt);
    2, any other (a backup such as train.orig, train.txt.bak or train.txt~)."""
    name, stem, suffix = path.name.lower(), path.stem.lower(), path.suffix.lower()
    words = ROLE_WORDS[role]
    plain = name in words or (stem in words and suffix in DATA_SUFFIXES) or suffix[1:] in words
    if plain or suffix == ".conll" or any(name.endswith(f"-ud-{word}.conllu") for word in words):
        return 0
    return 1 if suffix in DATA_SUFFIXES else 2


def _matches(folder: Path, role: str, taken: set[Path]) -> list[Path]:
    """The files of ``folder`` that could play ``role``, best first (``_rank``, then name)."""
    found: list[Path] = []
    for pattern in ROLES[role]:
        for path in sorted(folder.glob(pattern)):
            hidden = path.name.startswith(".")
            dev_of_conll = role == "test" and "testa" in path.name  # eng.testa is CoNLL-2003's dev set
            if path.is_file() and path not in taken and path not in found and not hidden and not dev_of_conll:
                if not _text_of_treebank(path):
                    found.append(path)
    return sorted(found, key=lambda path: (_rank(path, role), path.name))


def _text_of_treebank(path: Path) -> bool:
    """Whether ``path`` is the raw text of a UD treebank's CoNLL-U file beside it (``en_ewt-ud-train.txt``)."""
    return path.suffix == ".txt" and "-ud-" in path.name and path.with_suffix(".conllu").is_file()


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


def _best(directory: str | Path, role: str, found: list[Path]) -> Path | None:
    """The file of ``role`` among those ``found`` (best first): the one of the best rank, an error naming them all
    where several share it (no name says which is meant: a copy, a conversion, a subset)."""
    if not found:
        return None
    tied = [path.name for path in found if _rank(path, role) == _rank(found[0], role)]
    if len(tied) > 1:
        raise DataError(
            f"{len(tied)} files could be the {ROLE_NAMES[role]} file: {', '.join(tied)} (pick one with --{role} FILE)",
            str(directory),
        )
    return found[0]


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
        picked[role] = _best(directory, role, found)
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

    @property
    def plain(self) -> bool:
        """A plain label set (part-of-speech tags): scored by token accuracy, no chunks."""
        return self.scheme == PLAIN

    def types(self) -> set[str]:
        """The entity types of chunk data; the labels of a plain label set."""
        return labels((t for s in self.sentences for t in s.tags or ()), self.scheme)

    def tags_in(self, scheme: str) -> list[list[str]]:
        """Every sentence's tags rewritten in ``scheme`` (repairing as conlleval reads them)."""
        return [convert(s.tags or [], scheme) for s in self.sentences]


def load_tagged(
    path: str | Path,
    tag_column: int = -1,
    scheme: str | None = None,
    encoding: str = UTF8,
    skip_bad: bool = False,
    data_format: str = "auto",
    conllu_field: str = "upos",
) -> TaggedData:
    """Read a tagged data file (stdin for ``-``) in ``data_format`` (``formats.DATA_FORMATS``; CoNLL-U's tag is its
    ``conllu_field``) and check its tags against its scheme (detected unless given; plain where ``detect_kind``
    says so). A bad tag or span is a ``DataError`` naming its line; ``skip_bad`` leaves it out with one warning."""
    name = STDIN if str(path) == "-" else str(path)
    found = read_tagged(path, data_format, tag_column, conllu_field, encoding, strict=not skip_bad)
    sentences = found.sentences
    if scheme is not None and scheme not in DATA_SCHEMES:
        raise DataError(f"unknown tag scheme {scheme!r}; expected one of {', '.join(DATA_SCHEMES)}")
    if scheme == PLAIN or (scheme is None and detect_kind(s.tags or () for s in sentences) == PLAIN):
        return TaggedData(name, sentences, PLAIN, found.notes + _left_out(name, found.skipped, "record", "a bad span"))
    skipped: list[tuple[int, str]] = []  # (line, problem) of each sentence left out
    sentences, skipped = _without_bad_tags(sentences, None, name, strict=not skip_bad)
    if scheme is None:
        scheme = detect_scheme(s.tags for s in sentences)
    kept, wrong_scheme = _without_bad_tags(sentences, scheme, name, strict=not skip_bad)
    sentences, skipped = kept, sorted(skipped + wrong_scheme)
    broken = [s.token_line(bad[0]) for s in sentences for bad in [invalid_positions(s.tags or [], scheme)] if bad]
    warnings = found.notes + _left_out(name, found.skipped, "record", "a bad span")
    warnings += _left_out(name, skipped, "sentence", "a tag that is not a tag")
    if broken:
        warnings.append(
            f"{name}:{broken[0]}: {counted(len(broken), 'sentence')} {'has' if len(broken) == 1 else 'have'} tag "
            f"sequences that are not valid {scheme.upper()} "
            f"(for example I-X after O); read as conlleval reads them (such an I-X starts an entity)"
        )
    return TaggedData(name, sentences, scheme, warnings)


def _left_out(name: str, skipped: list[tuple[int, str]], what: str, why: str) -> list[str]:
    """The one warning for the sentences (or records) left out by --skip-bad-sentences, if any."""
    if not skipped:
        return []
    count = counted(len(skipped), what)
    line, problem = skipped[0]
    return [f"{name}:{line}: left out {count} with {why}, the first here: {problem} (--skip-bad-sentences)"]


def _without_bad_tags(
    sentences: list[Sentence], scheme: str | None, name: str, strict: bool = False
) -> tuple[list[Sentence], list[tuple[int, str]]]:
    """The sentences whose tags are all tags of ``scheme`` (of any scheme when None), and the (line, problem)
    of the first bad tag of each other one; ``strict``: the first bad tag is an error naming its line."""
    kept, skipped = [], []
    for sentence in sentences:
        bad = next(((i, p) for i, t in enumerate(sentence.tags or ()) if (p := _tag_problem(t, scheme))), None)
        if bad is None:
            kept.append(sentence)
        elif strict:
            raise DataError(bad[1], name, sentence.token_line(bad[0]))
        else:
            skipped.append((sentence.token_line(bad[0]), bad[1]))
    if not kept:
        raise DataError(f"every sentence has a tag that is not a tag; the first: {skipped[0][1]}", name, skipped[0][0])
    return kept, skipped


def _tag_problem(tag: str, scheme: str | None) -> str | None:
    if scheme is None:
        return tag_problem(tag)
    if tag[0] not in PREFIXES[scheme] + "O":
        prefixes = ", ".join(PREFIXES[scheme])
        return f"{tag!r} is not a tag of the {scheme.upper()} scheme of this file (prefixes {prefixes})"
    return None
