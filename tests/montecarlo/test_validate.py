"""The shared argument checks of montecarlo._validate: right values pass (converted), wrong values
raise ValueError with one line naming the argument and the value."""
from __future__ import annotations

import math

import numpy as np
import pytest

from montecarlo._validate import integer, non_negative_int, positive_int, positive_number, probability


@pytest.mark.parametrize("check, good, expected", [
    (positive_int, [1, 7, np.int64(3)], [1, 7, 3]),
    (non_negative_int, [0, 5, np.uint8(2)], [0, 5, 2]),
    (probability, [1e-6, 0.5, np.float32(0.25)], [1e-6, 0.5, 0.25]),
    (positive_number, [1e-300, 2, np.float64(3.5)], [1e-300, 2.0, 3.5]),
])
def test_good_values_pass_converted(check, good, expected):
    out = [check(v, "x") for v in good]
    assert out == expected
    assert all(type(o) is type(e) for o, e in zip(out, expected))


@pytest.mark.parametrize("check, bad, message", [
    (positive_int, 0, "n must be a positive integer, got 0"),
    (positive_int, -2, "n must be a positive integer, got -2"),
    (positive_int, 2.0, "n must be a positive integer, got 2.0"),
    (positive_int, True, "n must be a positive integer, got True"),
    (positive_int, "3", "n must be a positive integer, got '3'"),
    (non_negative_int, -1, "n must be a non-negative integer, got -1"),
    (non_negative_int, False, "n must be a non-negative integer, got False"),
    (probability, 0, "n must be in (0, 1), got 0"),
    (probability, 1.0, "n must be in (0, 1), got 1.0"),
    (probability, 2, "n must be in (0, 1), got 2"),
    (probability, math.nan, "n must be in (0, 1), got nan"),
    (probability, True, "n must be in (0, 1), got True"),
    (probability, "0.1", "n must be in (0, 1), got '0.1'"),
    (positive_number, 0, "n must be a positive finite number, got 0"),
    (positive_number, math.inf, "n must be a positive finite number, got inf"),
    (positive_number, None, "n must be a positive finite number, got None"),
])
def test_bad_values_raise_one_line_naming_the_value(check, bad, message):
    with pytest.raises(ValueError) as info:
        check(bad, "n")
    assert str(info.value) == message


def test_integer_bounds_and_reason():
    assert integer(5, "k", least=1, most=5) == 5
    assert integer(-4, "k") == -4
    with pytest.raises(ValueError, match=r"^k must be an integer in 1\.\.5, got 6$"):
        integer(6, "k", least=1, most=5)
    with pytest.raises(ValueError, match=r"^samples must be an integer >= 100 \(asymptotic tests\), got 5$"):
        integer(5, "samples", least=100, why=" (asymptotic tests)")
    with pytest.raises(ValueError, match=r"^k must be an integer <= 3, got 4$"):
        integer(4, "k", most=3)
    with pytest.raises(ValueError, match=r"^k must be an integer, got 1\.5$"):
        integer(1.5, "k")


def test_validate_loads_neither_torch_nor_sympy():
    """The module runs on its own with neither torch nor SymPy loaded (montecarlo/__init__ loads
    torch, so the file is run directly)."""
    import subprocess
    import sys
    from pathlib import Path

    src = str(Path(__file__).resolve().parents[2] / "montecarlo" / "_validate.py")
    code = (f"import sys, runpy; runpy.run_path({src!r}); "
            "print(sorted(m for m in ('torch', 'sympy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
