"""Every scheduler class diffusers ships gets a classification; ``conformance diffusers --all`` (slow)."""
from __future__ import annotations

import pytest

try:
    import diffusers  # noqa: F401
    HAVE_DIFFUSERS = True
except ImportError:  # pragma: no cover - CI installs diffusers
    HAVE_DIFFUSERS = False

pytestmark = pytest.mark.skipif(not HAVE_DIFFUSERS, reason="diffusers is not installed (optional dependency: "
                                "pip install 'diffusion-proofs[diffusers]'); CI installs it")


def test_every_buildable_class_is_classified_with_a_reason():
    from montecarlo.conformance.classify import KINDS, classify
    from montecarlo.conformance.survey import _build, scheduler_classes
    names = scheduler_classes()
    assert len(names) > 30 and "EulerDiscreteScheduler" in names
    for name in names:
        obj, err = _build(name)
        if obj is None:
            assert "cannot be built" in err
            continue
        c = classify(obj)
        assert c.kind in KINDS
        assert c.kind != "unsupported" or (c.reason and "\n" not in c.reason), name
        assert c.kind == "unsupported" or c.reason or c.label, name


@pytest.mark.slow
def test_all_diffusers_schedulers_one_row_each(capsys):
    from diffusion_proofs.cli import main
    rc = main(["conformance", "diffusers", "--all"])
    out = capsys.readouterr().out.strip().splitlines()
    from montecarlo.conformance.survey import scheduler_classes
    assert len(out) == len(scheduler_classes()) + 2  # header, one row each, totals
    assert rc in (0, 1)
    for line in out[1:-1]:
        assert line.split()[1] in ("PASS", "FAIL", "UNSUPPORTED"), line
    assert any(" PASS " in line for line in out) and any("UNSUPPORTED" in line for line in out)
