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
