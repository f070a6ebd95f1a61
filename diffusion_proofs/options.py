"""What the verbs share: the input error of the one error policy, argparse types that validate input
while the command line is parsed (before any work), and the progress bar.

Nothing here imports torch, scipy, matplotlib or diffusers at module level: the parser of every verb
is built from these types, and ``diffusion-proofs --help`` must print at once. :func:`device` imports
torch only when a CUDA device is asked for (to ask whether CUDA is available).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import sys
import threading
from pathlib import Path


class InputError(ValueError):
    """Bad usage or input found by a verb: :func:`diffusion_proofs.cli.main` prints its one-line message
    as ``diffusion-proofs VERB: error: ...`` and exits 2, without a traceback."""


# ----- argparse types (an ArgumentTypeError is printed by the parser as one line, exit 2) --------------
def _number(text, kind):
    try:
        return kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, "
                                         f"got {text!r}") from None


def positive_int(text) -> int:
    """An integer >= 1."""
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def non_negative_int(text) -> int:
    """An integer >= 0 (a seed)."""
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}")
    return value


def probability(text) -> float:
    """A false-alarm rate: a number strictly between 0 and 1."""
    value = _number(text, float)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {text!r}")
    return value


def finite_non_negative(text) -> float:
    value = _number(text, float)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


_DEVICE = re.compile(r"^(cpu|cuda(:\d+)?)$")


def _torch_build_has_cuda() -> bool | None:
    """Whether the installed torch was built with CUDA, read from ``torch/version.py`` without importing
    torch; None when that cannot be told (then torch is asked)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("torch")
        folder = next(iter(spec.submodule_search_locations or ()))
        text = (Path(folder) / "version.py").read_text(encoding="utf-8")
    except (AttributeError, ImportError, OSError, StopIteration, ValueError):
        return None
    match = re.search(r"^cuda\s*(?::[^=]*)?=\s*(.+?)\s*$", text, flags=re.M)
    return None if match is None else match.group(1) != "None"


def device(text) -> str:
    """``cpu``, ``cuda`` or ``cuda:N``; a CUDA device must exist on this machine."""
    if not _DEVICE.match(str(text)):
        raise argparse.ArgumentTypeError(f"unknown device {text!r}: use cpu, cuda or cuda:N")
    if text.startswith("cuda"):
        if _torch_build_has_cuda() is False:  # known without importing torch (seconds)
            raise argparse.ArgumentTypeError(f"device {text!r} requested but CUDA is not available on this machine "
                                             "(this torch build has no CUDA)")
        import torch  # only when CUDA is asked for

        if not torch.cuda.is_available():
            raise argparse.ArgumentTypeError(f"device {text!r} requested but CUDA is not available on this machine")
        index = int(text.split(":")[1]) if ":" in text else 0
        if index >= torch.cuda.device_count():
            raise argparse.ArgumentTypeError(f"device {text!r}: this machine has {torch.cuda.device_count()} "
                                             "CUDA device(s)")
    return text


def json_object(text) -> dict:
    """A JSON object (keyword arguments of a factory)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc.msg} at position {exc.pos}): {text!r}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object of keyword arguments, got {text!r}")
    return value


def _first_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(".")


def output_dir(text) -> Path:
    """A directory that exists or can be created: no file in the way, the nearest existing folder
    writable. (Whether the file system lets it be created is known only when it is: an OSError then
    is handled by the error policy as well.)"""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} exists and is not a directory")
    base = _first_existing(path)
    if not base.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r}: {str(base)!r} is a file, not a directory")
    if not os.access(base, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{text!r}: no permission to write in {str(base)!r}")
    return path


def output_file(text) -> Path:
    """A file to write: its folder exists and is writable, and it is not a directory."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a directory, not a file")
    parent = path.parent
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r}: the folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise argparse.ArgumentTypeError(f"{text!r}: no permission to write there")
    return path


def make_dir(path, option: str = "--out") -> Path:
    """Create ``path`` (and its parents) now, before any work; an OSError becomes an InputError naming it."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{option} {str(path)!r}: cannot create the directory ({exc.strerror or exc})") from exc
    return path


# ----- progress ------------------------------------------------------------------------------------
def bars_enabled() -> bool:
    """Progress bars only on a terminal, never when stderr is piped or the ``CI`` variable is set."""
    return sys.stderr.isatty() and not os.environ.get("CI")


def progress(iterable=None, *, total=None, desc: str = ""):
    """A tqdm bar on stderr over ``iterable`` (or updated by hand up to ``total``); disabled (a no-op
    object with the same methods) when :func:`bars_enabled` is False."""
    from tqdm import tqdm

    if total is None and iterable is not None and hasattr(iterable, "__len__"):
        total = len(iterable)
    return tqdm(iterable, total=total, desc=desc, leave=False, file=sys.stderr, disable=not bars_enabled())


@contextlib.contextmanager
def phase(desc: str):
    """For one long call that has no steps of its own (a Monte Carlo check, a conformance run): a line
    on stderr with the elapsed time, refreshed twice a second, removed when the call returns."""
    if not bars_enabled():
        yield
        return
    from tqdm import tqdm

    bar = tqdm(total=None, desc=desc, leave=False, file=sys.stderr, bar_format="{desc}: {elapsed}")
    stop = threading.Event()

    def tick():
        while not stop.wait(0.5):
            bar.refresh()

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        bar.close()


__all__ = ["InputError", "positive_int", "non_negative_int", "probability", "finite_non_negative", "device",
           "json_object", "output_dir", "output_file", "make_dir", "bars_enabled", "progress", "phase"]
