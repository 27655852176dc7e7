"""The README's Python examples run as written, against the sample photos."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ris_core.samples import write_samples

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_the_readme_has_both_setup_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert "<!-- ci:main -->" in text and "<!-- ci:test -->" in text


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for all blocks, in order: later examples use what earlier ones made."""
    folder = tmp_path_factory.mktemp("readme")
    write_samples(folder / "ris-samples")
    return folder


@pytest.mark.parametrize("number", range(len(BLOCKS)))
def test_readme_python_block_runs(number: int, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    block = BLOCKS[number]
    code = compile(block, f"README python block {number}", "exec")
    if "ris_memory/plugin.py" in block or "class TestMyBackend" in block:
        return  # shown for backend authors; examples/ris-memory runs the real thing
    monkeypatch.chdir(workdir)
    exec(code, {"__name__": "readme"})
