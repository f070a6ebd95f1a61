"""The README runs as written: every ```python block, every ``diffusion-proofs`` command it shows, its layout.

* Each ```python block is executed on its own, in a fresh namespace (so a block that forgets an import
  fails). A block that imports diffusers is skipped, saying why, when diffusers is not installed. The
  pytest-fixture examples inside the blocks are defined, as in a test file (the fixtures themselves are
  tested in test_plugin.py and tests/conformance).
* Each ``diffusion-proofs ...`` command line (``$ ...`` lines, the command table, the set-up line) parses
  with the real parser; the ones shown failing with exit code 2 are run and print the line shown;
  ``health sd`` is run and prints the table shown.
* The "Layout" section lists exactly the modules of the three packages.
"""
from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path

import pytest

from diffusion_proofs.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```python\n(.*?)^```", README, flags=re.S | re.M)
HAS_DIFFUSERS = importlib.util.find_spec("diffusers") is not None


def test_the_readme_has_its_code_blocks():
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("index", range(len(BLOCKS)), ids=[f"block{k}" for k in range(len(BLOCKS))])
def test_python_block_runs_as_written(index):
    block = BLOCKS[index]
    if "diffusers" in block and not HAS_DIFFUSERS:
        pytest.skip("this README block needs diffusers (pip install 'diffusion-proofs[diffusers]')")
    code = compile(block, f"README.md python block {index}", "exec")
    exec(code, {"__name__": f"readme_block_{index}"})  # a fresh namespace: every block brings its own imports


# ----- command lines ----------------------------------------------------------------------------------------
def _commands() -> list[str]:
    found = []
    for line in README.splitlines():
        if line.startswith("$ diffusion-proofs "):
            found.append(line[2:])
    for cell in re.findall(r"`(diffusion-proofs [^`]*)`", README):
        if "[" not in cell.split("'")[0] and "VERB" not in cell and "..." not in cell:  # synopses are not commands
            found.append(cell)
    found += re.findall(r"&& (diffusion-proofs [^\n&]*)", README)
    return found


COMMANDS = _commands()


def _argv(command: str) -> tuple[list[str], int | None]:
    """argv of a README command line, and the exit code it is annotated with, if any."""
    match = re.search(r"\s+\(exit code (\d)\)\s*$", command)
    code = int(match.group(1)) if match else None
    if match:
        command = command[:match.start()]
    # an error line is shown after the command on the same line: keep the command part
    command = command.split("\ndiffusion-proofs")[0]
    return shlex.split(command)[1:], code


def test_the_readme_shows_commands():
    verbs = {_argv(c)[0][0] for c in COMMANDS if _argv(c)[0]}
    assert verbs >= {"verify", "bench", "check", "conformance", "health", "errata", "report"}, verbs


@pytest.mark.parametrize("command", COMMANDS)
def test_command_line_parses(command):
    argv, _ = _argv(command)
    if "--help" in argv:
        with pytest.raises(SystemExit) as info:
            build_parser().parse_args(argv)
        assert info.value.code == 0
        return
    args = build_parser().parse_args(argv)  # a usage error would exit 2 here
    assert args.command == argv[0] and callable(args.run)


def test_error_lines_shown_are_printed(capsys):
    """``$ diffusion-proofs ...`` followed by the line it prints and ``(exit code 2)``."""
    shown = re.findall(r"^\$ (diffusion-proofs [^\n]+)\n(diffusion-proofs [^\n]+?)\s+\(exit code 2\)$", README,
                       flags=re.M)
    assert shown
    for command, line in shown:
        argv = shlex.split(command)[1:]
        assert main(argv) == 2
        assert capsys.readouterr().err.strip() == line.strip()


def test_health_sd_prints_the_table_shown(capsys):
    block = re.search(r"^\$ diffusion-proofs health sd\n(.*?)^```", README, flags=re.S | re.M).group(1)
    assert main(["health", "sd"]) == 0
    out = capsys.readouterr().out.splitlines()
    for line in block.strip().splitlines():
        assert line.rstrip() in [o.rstrip() for o in out], line


# ----- layout ------------------------------------------------------------------------------------------------
def test_layout_lists_every_module_and_only_those():
    section = README.split("## Layout", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```text\n(.*?)```", section, flags=re.S).group(1)
    listed = {line.split()[0] for line in block.splitlines() if line.split() and line.split()[0].endswith(".py")}
    actual = {p.relative_to(ROOT).as_posix() for pkg in ("proofs", "montecarlo", "diffusion_proofs")
              for p in (ROOT / pkg).rglob("*.py")}
    assert not actual - listed, f"modules missing from the README's Layout: {sorted(actual - listed)}"
    assert not listed - actual, f"the README's Layout lists modules that do not exist: {sorted(listed - actual)}"
