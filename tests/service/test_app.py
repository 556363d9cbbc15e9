"""The service's routes through Starlette's TestClient (no server, no sockets): answers, refusals, the page."""

from __future__ import annotations

import json
import threading
import time

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.testclient import TestClient  # noqa: E402

from tagger.nn.shipped import path_of  # noqa: E402
from tagger.service.app import create_app  # noqa: E402
from tagger.service.model import ServiceModel  # noqa: E402
from tagger.service.requests import Limits  # noqa: E402
from tests.helpers import run_cli  # noqa: E402

TEXT = "Angela Merkel met Emmanuel Macron in Paris on Tuesday. Apple said so.\nBob lives in Berlin ."
pytestmark = pytest.mark.usefixtures("cli_env")


@pytest.fixture(scope="module")
def model() -> ServiceModel:
    return ServiceModel(path_of("en-news"))


@pytest.fixture(scope="module")
def client(model):
    limits = Limits(body_bytes=20_000, texts=5, text_chars=2_000, tokens=50)
    with TestClient(create_app(model, info={"path": "en-news.pt"}, limits=limits)) as found:
        yield found


def tagger_tag(tmp_path, text: str, *options: str) -> list[dict]:
    """The records ``tagger tag --format jsonl`` writes for ``text`` as a file of its own."""
    path = tmp_path / "in.txt"
    path.write_text(text, encoding="utf-8")
    result = run_cli("tag", "--format", "jsonl", *options, path)
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize("options", [{}, {"scores": "entities"}, {"scores": "tokens", "nbest": 2}])
def test_a_text_gets_the_records_of_tagger_tag(client, tmp_path, options):
    answer = client.post("/tag", json={"text": TEXT, **options})
    assert answer.status_code == 200
    flags = [f"--{k}={v}" for k, v in options.items()]
    assert answer.json() == {"sentences": tagger_tag(tmp_path, TEXT, "-m", "en-news", *flags)}


def test_texts_get_their_records_with_offsets_into_each_text(client, tmp_path):
    texts = ["Bob lives in Berlin .", "I met Angela Merkel in Paris."]
    answer = client.post("/tag", json={"texts": texts}).json()
    assert [r["sentences"] for r in answer["results"]] == [tagger_tag(tmp_path, t, "-m", "en-news") for t in texts]
    (entity,) = [e for e in answer["results"][1]["sentences"][0]["entities"] if e["type"] == "PER"]
    assert texts[1][entity["char_start"] : entity["char_end"]] == "Angela Merkel"


def test_token_lists_get_the_records_of_tagger_tag_input_tokens(client, tmp_path):
    tokens = [["Angela", "Merkel", "visited", "Paris", "."], ["Apple", "is", "big", "."]]
    answer = client.post("/tag", json={"tokens": tokens})
    lines = "\n".join(" ".join(t) for t in tokens) + "\n"
    assert answer.json() == {"sentences": tagger_tag(tmp_path, lines, "-m", "en-news", "--input", "tokens")}


BAD = [
    (b'{"text": ', 400, "not JSON"),
    (b'{"text": "caf\xe9"}', 400, "not UTF-8"),
    (b"[" * 100_000, 413, "at most 20000"),
    (b"[" * 10_000 + b"]" * 10_000, 400, "nested too deep"),
    (b'["text"]', 422, "JSON object"),
    (b'{"text": 3}', 422, "must be a string"),
    (b'{"text": ""}', 422, "empty"),
    (b'{"text": "  \\n "}', 422, "empty"),
    (b'{"texts": []}', 422, "empty"),
    (b'{"texts": ["a", 2]}', 422, "texts[1]"),
    (b'{"text": "a", "texts": ["b"]}', 422, "exactly one"),
    (b"{}", 422, "exactly one"),
    (b'{"text": "a", "colour": 1}', 422, "unknown field 'colour'"),
    (b'{"text": "a", "scores": "all"}', 422, '"scores"'),
    (b'{"text": "a", "nbest": -1}', 422, '"nbest"'),
    (b'{"text": "a", "nbest": 11}', 422, '"nbest"'),
    (b'{"text": "\\ud800"}', 422, "lone surrogate"),
    (b'{"tokens": [["a", ""]]}', 422, "non-empty word"),
    (b'{"tokens": [["New York"]]}', 422, "non-empty word"),
    (b'{"tokens": [[]]}', 422, "non-empty list"),
    (b'{"tokens": "a b"}', 422, "must be a list"),
    (b'{"texts": ["a", "b", "c", "d", "e", "f"]}', 413, "at most 5"),
    (b'{"text": "' + b"a " * 1500 + b'"}', 413, "at most 2000"),
    (b'{"tokens": [[' + b'"a",' * 60 + b'"a"]]}', 413, "at most 50"),
]


@pytest.mark.parametrize(("body", "status", "words"), BAD, ids=[f"{status}-{words}" for _, status, words in BAD])
def test_a_bad_request_gets_its_status_and_one_line_of_json(client, body, status, words):
    answer = client.post("/tag", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert "\n" not in answer.text
    assert words in answer.json()["error"]


def test_a_body_over_the_limit_is_refused_by_its_length_before_it_is_read(client):
    answer = client.post("/tag", content=b"x" * 30_000)
    assert answer.status_code == 413
    assert answer.json() == {"error": "the body has 30000 bytes; at most 20000"}
    assert answer.headers["connection"] == "close"


def test_unknown_paths_and_methods_get_json_errors(client):
    assert client.get("/nowhere").json() == {"error": "Not Found"}
    assert client.get("/tag").status_code == 405


def test_health_ready_info_and_the_openapi_schema(client, model):
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready").json()
    assert ready["ready"] is True and ready["model"] == str(model.path)
    assert client.get("/info").json() == {"path": "en-news.pt"}
    schema = client.get("/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert {"/tag", "/health", "/ready", "/info", "/metrics", "/"} <= set(schema["paths"])


def test_metrics_count_requests_and_batches(client):
    client.post("/tag", json={"text": "Bob lives in Berlin ."})
    text = client.get("/metrics").text
    assert 'tagger_requests_total{method="POST",path="/tag",status="200"}' in text
    assert "tagger_request_seconds_bucket" in text
    assert "tagger_batch_requests_count" in text


def test_the_page_shows_the_text_tagged_as_tagger_tag_html_does(client, tmp_path):
    text = "<script>document.title='x'</script> Angela Merkel visited Paris."
    page = client.get("/", params={"text": text}).text
    assert '<textarea name="text"' in page
    assert "&lt;script&gt;document.title=" in page and "<script>" not in page
    assert (
        '<mark class="ent" style="background:#b9d3ff" title="PER">Angela Merkel<span class="t">PER</span></mark>'
        in (page)
    )
    path = tmp_path / "in.txt"
    path.write_text(text + "\n", encoding="utf-8")
    html = run_cli("tag", "-m", "en-news", "--format", "html", path).stdout
    paragraph = html[html.index("<p>") : html.index("</p>") + 4]
    assert paragraph in page


def test_the_page_takes_a_posted_form_and_shows_refusals(client):
    page = client.post("/", data={"text": "Bob lives in Berlin ."})
    assert page.status_code == 200 and 'title="LOC">Berlin' in page.text
    assert client.get("/").status_code == 200
    long = client.post("/", data={"text": "a " * 1500})
    assert long.status_code == 413 and 'class="error"' in long.text


def test_health_answers_while_the_model_loads_and_ready_says_when_it_is_loaded():
    release = threading.Event()

    def loader():
        release.wait(30)
        return object.__new__(type("Stand", (), {"tag": lambda self, jobs: []}))

    with TestClient(create_app(loader)) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/ready").status_code == 503
        answer = client.post("/tag", json={"text": "Bob"})
        assert answer.status_code == 503 and answer.json() == {"error": "the model is not loaded yet"}
        release.set()
        deadline = time.monotonic() + 10
        while client.get("/ready").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert client.get("/ready").json() == {"ready": True}


def test_a_model_that_fails_to_load_leaves_the_server_unready_saying_why():
    def loader():
        raise MemoryError("no room")

    with TestClient(create_app(loader)) as client:
        deadline = time.monotonic() + 10
        while "error" not in client.get("/ready").json() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert client.get("/ready").json()["error"] == "the model could not be loaded: MemoryError: no room"


def test_a_text_tagged_in_a_batch_with_others_gets_the_answer_it_gets_alone(model):
    from tagger.service.model import Job, record
    from tagger.service.requests import text_job

    texts = [TEXT, "Bob lives in Berlin .", "I met Angela Merkel in Paris.\nShe said hello.", "nothing here"]
    jobs = [text_job(text, Limits()) for text in texts] + [Job("tokens", [["Apple", "is", "big", "."]] * 2)]
    together = model.tag(jobs)
    alone = [model.tag([job])[0] for job in jobs]
    shown = [[[record(s, job.options) for s in text] for text in answer] for job, answer in zip(jobs, together)]
    assert shown == [[[record(s, job.options) for s in text] for text in answer] for job, answer in zip(jobs, alone)]


# An exported model (tagger export): served on onnxruntime, the same records as tagger tag -m model.onnx


@pytest.mark.parametrize("options", [{}, {"scores": "tokens", "nbest": 2}])
def test_an_exported_model_gets_the_records_of_tagger_tag(onnx_model, trained_model, tmp_path, options):
    from tagger.tagging.info import model_info

    info = model_info(onnx_model)
    with TestClient(create_app(ServiceModel(onnx_model), info=info)) as exported:
        answer = exported.post("/tag", json={"text": TEXT, **options})
        shown, ready = exported.get("/info").json(), exported.get("/ready").json()
        tokens = exported.post("/tag", json={"tokens": [["John", "Smith", "lives", "in", "Paris", "."]]}).json()
    flags = [f"--{k}={v}" for k, v in options.items()]
    assert answer.status_code == 200
    assert answer.json() == {"sentences": tagger_tag(tmp_path, TEXT, "-m", onnx_model, *flags)}
    if not options:
        assert answer.json() == {"sentences": tagger_tag(tmp_path, TEXT, "-m", trained_model)}
    assert shown == json.loads(json.dumps(info)) and shown["format"] == "tagger-onnx"
    assert ready["model"] == str(onnx_model) and ready["context"] is False
    assert [e["text"] for e in tokens["sentences"][0]["entities"]] == [
        e["text"] for e in tagger_tag(tmp_path, "John Smith lives in Paris .", "-m", onnx_model)[0]["entities"]
    ]
