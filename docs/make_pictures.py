"""Make the README's pictures from a model file.

    python docs/make_pictures.py --model MODEL
    python docs/make_pictures.py --model MODEL --history train-result.json   # a model file without its history

docs/tagged.html and docs/tagged.png: a news paragraph tagged by the model,
as the HTML page of ``tagger.tagging.html``, rendered by headless Chromium from the
OS packages (Debian: ``apt-get install chromium``) and cropped to the text.
docs/curve.png: dev precision, recall and F1 and the training loss per epoch,
from the model file's training history, or from the ``history`` of the JSON
result of ``tagger train`` where the model file has none (``pip install -c constraints.txt -e ".[plot]"``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the checkout's tagger, whatever is installed

from tagger.cli.plot import plot_history  # noqa: E402
from tagger.data.tokenizer import tokenize_flat  # noqa: E402
from tagger.data.types import TaggedSentence  # noqa: E402
from tagger.tagging.html import HtmlWriter  # noqa: E402
from tagger.tagging.info import model_info  # noqa: E402
from tagger.tagging.model import open_model  # noqa: E402
from tagger.tagging.predictor import Predictor  # noqa: E402

# Made up for the picture, in the style of the Reuters news of CoNLL-2003.
PARAGRAPH = (
    "BERLIN (Reuters) - German Chancellor Olaf Scholz met French President Emmanuel Macron in Paris on "
    "Tuesday to discuss the European Union budget, a government spokesman said. Scholz later flew to "
    "Brussels for talks with NATO Secretary-General Mark Rutte.\n"
    "Shares of Siemens and Volkswagen rose 2 percent in Frankfurt after the Bundesbank raised its growth "
    "forecast, while the Dow Jones index closed flat on Wall Street."
)
WIDTH = 900  # CSS pixels of the browser window
SCALE = 2  # device pixels per CSS pixel: a sharp picture on high-density screens


def tag_paragraph(model_path: Path, text: str) -> list[TaggedSentence]:
    """The sentences of ``text``, line by line, with their offsets in their lines and the model's tags."""
    predictor = Predictor(open_model(model_path))
    sentences, start = [], 0
    for line in text.splitlines(keepends=True):
        for tokens, flat in tokenize_flat(line):
            sentences.append(TaggedSentence(tokens, [], flat, line, start))
        start += len(line)
    for sentence, tags in zip(sentences, predictor.predict([s.tokens for s in sentences])):
        sentence.tags = tags
    return sentences


def write_html(sentences: list[TaggedSentence], path: Path, types: list[str]) -> Path:
    writer = HtmlWriter(types=types, title="tagger: a tagged news paragraph")
    path.write_text(writer.head() + "".join(writer.sentence(s) for s in sentences) + writer.tail(), encoding="utf-8")
    return path


def screenshot(page: Path, png: Path, height: int = 600) -> Path:
    """Render ``page`` with headless Chromium to ``png``, then crop the blank bottom and right."""
    browser = next(
        (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None
    )
    if browser is None:
        sys.exit("make_pictures: no chromium on the PATH (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--force-device-scale-factor={SCALE}",
            f"--window-size={WIDTH},{height}",
            f"--screenshot={png}",
            page.resolve().as_uri(),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0 or not png.exists():
        sys.exit(f"make_pictures: chromium failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return crop(png)


def crop(png: Path, margin: int = 24) -> Path:
    """Cut the white space below and right of the content, keeping ``margin`` CSS pixels of it."""
    from PIL import Image, ImageChops

    image = Image.open(png).convert("RGB")
    box = ImageChops.difference(image, Image.new("RGB", image.size, "white")).getbbox()
    if box:
        pad = margin * SCALE
        image = image.crop((0, 0, min(image.width, box[2] + pad), min(image.height, box[3] + pad)))
    image.quantize(colors=256).save(png, optimize=True)  # a quarter of the bytes; text stays sharp
    return png


def history_of(model_path: Path, result_json: Path | None) -> tuple[list[dict], str]:
    """The training history, and where it came from: the model file, else ``tagger train``'s JSON result."""
    history = model_info(model_path)["history"]
    if history:
        return history, str(model_path)
    if result_json is None:
        sys.exit(f"make_pictures: {model_path} holds no training history; pass --history RESULT.json")
    return json.loads(result_json.read_text(encoding="utf-8"))["history"], str(result_json)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="a CoNLL-2003 model file")
    parser.add_argument("--history", type=Path, help="tagger train's JSON result, for a model file without history")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for the pictures (default: docs/)")
    parser.add_argument("--title", default="CoNLL-2003 English, GloVe 50d: dev scores per epoch")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    info = model_info(args.model)
    page = write_html(tag_paragraph(args.model, PARAGRAPH), args.out / "tagged.html", info["types"])
    print(f"wrote {page} and {screenshot(page, args.out / 'tagged.png')}")
    history, source = history_of(args.model, args.history)
    print(f"wrote {plot_history(history, args.out / 'curve.png', title=args.title)} (history from {source})")


if __name__ == "__main__":
    main()
