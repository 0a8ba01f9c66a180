"""The README's opening commands are the ones CI runs."""

from pathlib import Path


def test_readme_commands_are_the_ones_ci_runs():
    root = Path(__file__).parents[1]
    readme = (root / "README.md").read_text()
    block = readme.split("```bash\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert len(block) == 2, "the README must open with exactly two commands"
    ci = (root / ".ci" / "run").read_text().splitlines()
    for command in block:
        assert command in ci, f"README command not run by .ci/run: {command}"


def test_readme_error_example_is_what_imln_prints(monkeypatch):
    """The invalid-input example in the README is the CLI's real output for examples/invalid/bad.yaml."""
    from typer.testing import CliRunner

    from imln.cli import app

    root = Path(__file__).parents[1]
    readme = (root / "README.md").read_text()
    block = readme.split("$ imln assess bad.yaml\n", 1)[1].split("```", 1)[0].strip().splitlines()
    monkeypatch.chdir(root / "examples" / "invalid")
    result = CliRunner().invoke(app, ["assess", "bad.yaml"], env={"COLUMNS": "400"})
    assert result.exit_code == 2
    printed = [line.rstrip() for line in result.stderr.splitlines()]
    assert printed == block
