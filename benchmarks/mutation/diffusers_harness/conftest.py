"""pytest hook of the mutation benchmark: before diffusers' own scheduler tests are imported, replace
diffusers' DDPMScheduler or DDIMScheduler by the class of the mutant module named in the environment
(MUTANT_FILE: path of the mutated module text; MUTANT_KIND: ddpm or ddim). Without MUTANT_FILE the tests
run on the installed diffusers, unchanged."""
import os
import sys
import warnings

warnings.filterwarnings("ignore", category=FutureWarning)

_path, _kind = os.environ.get("MUTANT_FILE"), os.environ.get("MUTANT_KIND")
if _path:
    sys.path.insert(0, os.environ["MUTATION_HARNESS_DIR"])
    import diffusers
    import diffusers.schedulers
    from harness import KINDS, load  # benchmarks/mutation/harness.py

    _module, _cls_name = KINDS[_kind]
    with open(_path, encoding="utf-8") as _fh:
        _cls = load(_fh.read(), _kind, "under_test")
    import importlib

    _orig_module = importlib.import_module(f"diffusers.schedulers.{_module}")
    for _where in (diffusers, diffusers.schedulers, _orig_module):
        setattr(_where, _cls_name, _cls)
