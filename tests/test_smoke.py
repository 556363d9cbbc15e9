import json

from typer.testing import CliRunner

from cli import app


def test_trained_model_tags_the_tiny_data(trained_model, tiny_dir):
    from tagger.evaluation import evaluate

    result = evaluate(tiny_dir / "test.txt", trained_model)
    assert result["f1"] > 0.9


def test_cli_tag_from_stdin(trained_model):
    result = CliRunner().invoke(app, ["tag", "-m", str(trained_model), "--format", "jsonl"], input="Mary lives in Paris .\n")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout.splitlines()[0])
    assert record["tokens"] == ["Mary", "lives", "in", "Paris", "."]
