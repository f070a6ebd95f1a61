"""The benchmark (``diffusion-proofs bench``): its bookkeeping, never its figures."""
import math

import pytest

import proofs


# ----- the benchmark (figures are not asserted: only its bookkeeping) -----------------------------
def _tiny_bench(**kw):
    from diffusion_proofs.bench import bench_mc
    return bench_mc(n=64, d=2, T=3, repeats=1, chunk_size=32, **kw)


def test_bench_reports_consistent_figures():
    r = _tiny_bench(confirm=False)
    for key in ("kernel_steps_per_s", "kernel_1thread_steps_per_s", "randn_per_s", "numpy_steps_per_s"):
        assert math.isfinite(r[key]) and r[key] > 0
    assert r["ratio_kernel_over_randn"] == pytest.approx(r["kernel_steps_per_s"] / r["randn_per_s"])
    assert r["ratio_kernel_over_numpy"] == pytest.approx(r["kernel_steps_per_s"] / r["numpy_steps_per_s"])
    assert r["kernel_steps_per_s"] == pytest.approx(64 * 2 * 3 / r["seconds"]["kernel"])
    assert set(r["targets_met"]) == {"ratio_kernel_over_randn", "ratio_kernel_over_numpy"}
    assert "confirm_seconds" not in r and r["chunk_elements"] == 64


def test_bench_confirm_seconds_records_every_identity(monkeypatch):
    import sys
    import types
    fake = types.ModuleType("montecarlo.confirmation")

    def confirm(identity, schedule, device="cpu"):
        if identity == "dsm":
            raise ValueError("no check for dsm")

    fake.confirm = confirm
    monkeypatch.setitem(sys.modules, "montecarlo.confirmation", fake)
    seconds = _tiny_bench()["confirm_seconds"]
    assert set(seconds) == set(proofs.IDENTITIES)
    assert seconds["dsm"].startswith("error: ValueError") and isinstance(seconds["posterior"], float)
    monkeypatch.setitem(sys.modules, "montecarlo.confirmation", None)  # import fails -> "unavailable"
    assert set(_tiny_bench()["confirm_seconds"].values()) == {"unavailable"}


def test_bench_cli_exit_code_follows_the_targets(capsys):
    import json

    from diffusion_proofs.cli import main
    tiny = ["--n", "64", "--d", "2", "--T", "3", "--repeats", "1", "--chunk-size", "32", "--no-confirm"]
    code = main(["bench", "--mc", "--json", *tiny])
    r = json.loads(capsys.readouterr().out)
    assert r["n"] == 64
    assert code == (0 if all(r["targets_met"].values()) else 1)  # a missed target is exit 1, never 0
    code = main(["bench", "--mc", *tiny])
    out = capsys.readouterr().out
    assert "torch.randn into buffer" in out and ("TARGET MISSED" in out) == (code == 1)
    assert "e+" in out and not any(len(tok) > 12 and tok.replace(".", "").isdigit() for tok in out.split())


def test_bench_cli_bad_input_is_one_line_exit_2(capsys):
    from diffusion_proofs.cli import main
    assert main(["bench", "--mc", "--device", "tpu", "--n", "64", "--T", "3", "--no-confirm"]) == 2
    err = capsys.readouterr().err
    assert "tpu" in err and "Traceback" not in err and err.count("\n") == 1
    assert main(["bench", "--mc", "--n", "0"]) == 2
    assert "n" in capsys.readouterr().err


def test_significant_rounds_every_float_to_4_digits():
    from diffusion_proofs.bench import significant
    data = {"a": 123456.789, "b": [0.000123456, 2.0, 7], "c": {"d": -0.98765432}, "e": "x", "f": 0.0,
            "g": float("inf"), "h": True}
    assert significant(data) == {"a": 123500.0, "b": [0.0001235, 2.0, 7], "c": {"d": -0.9877}, "e": "x", "f": 0.0,
                                 "g": float("inf"), "h": True}


def test_bench_json_has_sensible_digits(capsys):
    import json
    import re

    from diffusion_proofs.cli import main
    main(["bench", "--mc", "--json", "--n", "64", "--d", "2", "--T", "3", "--repeats", "1", "--chunk-size", "32",
          "--no-confirm"])
    out = capsys.readouterr().out
    json.loads(out)
    floats = re.findall(r"(?<![\w.])(\d+\.\d+(?:e[-+]\d+)?)(?![\w.+])", out)
    digits = [len(f.split("e")[0].replace(".", "").strip("0")) for f in floats]  # significant digits
    assert digits and max(digits) <= 4, out


def test_bench_cli_a_confirm_that_raises_is_exit_1(monkeypatch, capsys):
    """A benchmark whose confirm raised has not met its targets, however fast the kernel was."""
    import json
    import sys
    import types

    from diffusion_proofs.cli import main
    fake = types.ModuleType("montecarlo.confirmation")

    def confirm(identity, schedule, device="cpu"):
        if identity == "tweedie":
            raise RuntimeError("boom")

    fake.confirm = confirm
    monkeypatch.setitem(sys.modules, "montecarlo.confirmation", fake)
    tiny = ["--n", "64", "--d", "2", "--T", "3", "--repeats", "1", "--chunk-size", "32"]
    assert main(["bench", "--mc", "--json", *tiny]) == 1
    r = json.loads(capsys.readouterr().out)
    assert list(r["confirm_errors"]) == ["tweedie"] and "boom" in r["confirm_errors"]["tweedie"]
    assert main(["bench", "--mc", *tiny]) == 1
    out = capsys.readouterr().out
    assert "confirm(tweedie) error: RuntimeError: boom" in out and "TARGET MISSED" in out
