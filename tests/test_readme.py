"""The README's Python examples run as written (slow: they train several small models)."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_python_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.slow
@pytest.mark.parametrize("block", range(len(BLOCKS)))
def test_readme_example_runs(block, capsys):
    exec(compile(BLOCKS[block], f"README.md block {block}", "exec"), {})
    assert capsys.readouterr().out.strip()  # every example prints its result
