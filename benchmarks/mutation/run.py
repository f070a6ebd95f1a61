"""Mutation benchmark: how many wrong DDPM/DDIM schedulers does the conformance checker catch, and how many
do diffusers' own scheduler tests catch? (Not run in CI; see README.md next to this file.)

Phases (``--phases``, default all, in this order; results.json is rewritten after every mutant, and a
rerun resumes: a mutant that already has a phase's result is not redone unless ``--redo``):

* ``generate``: every mutation of diffusers' scheduling_ddpm.py / scheduling_ddim.py inside the numerical
  functions (:mod:`mutate`), a fixed-seed stratified sample of ``--n`` of them (split between the files in
  proportion to their mutation counts), each mutant's module text written to ``--work``/mutants/;
* ``equiv``: each mutant is loaded (an exception: "stillborn") and run over ~70 configurations
  (:func:`harness.fingerprint`); identical outputs and exceptions everywhere: "equivalent", excluded;
* ``checker``: ``check_scheduler(MutantClass, sweep=True)`` when the checker has a sweep mode, else
  ``check_scheduler(MutantClass(**cfg), spacings="all")`` over every beta_schedule x prediction_type; killed
  when a configuration has a failing finding (identity, check, grid, t) that the original's run of the same
  configuration does not have, a configuration's status turns FAIL/REFUSED, or the call raises where the
  original's does not; ``--budget`` seconds per mutant (then "timeout", not killed);
* ``dtests``: diffusers' own tests (test_scheduler_ddpm.py / test_scheduler_ddim.py with SchedulerCommonTest,
  from ``--tests``) in a pytest subprocess per mutant with the mutant patched in (diffusers_harness/
  conftest.py); tests that fail on the unmutated module are deselected and listed; killed when a test fails;
* ``report``: results.json, results.md (tables, every sweep survivor with its diff, a measured diagnosis
  and the notes of survivor_notes.json), and ``--survivors`` (the survivors alone, for whoever strengthens
  the sweep).

Run from the repository root: ``taskset -c 1 python benchmarks/mutation/run.py`` (one core; see README).
"""
from __future__ import annotations

import argparse
import inspect
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import mutate  # noqa: E402
import harness  # noqa: E402

PHASES = ("generate", "equiv", "checker", "control", "dtests", "report")
FILES = {"ddpm": "scheduling_ddpm.py", "ddim": "scheduling_ddim.py"}


def _skip(mut: dict, args) -> bool:
    return bool(args.only) and mut["id"] not in args.only.split(",")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S', time.gmtime())}] {msg}", flush=True)


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout()


# ----- state -------------------------------------------------------------------------------------------------
class State:
    def __init__(self, path: Path):
        self.path = path
        self.data = json.loads(path.read_text()) if path.exists() else {}
        self.data.setdefault("mutants", [])
        self.data.setdefault("meta", {})

    @property
    def mutants(self) -> list:
        return self.data["mutants"]

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, default=str))
        os.replace(tmp, self.path)


# ----- generate ----------------------------------------------------------------------------------------------
def generate(state: State, args) -> None:
    import diffusers
    work = Path(args.work)
    (work / "mutants").mkdir(parents=True, exist_ok=True)
    all_sites = {k: mutate.sites(harness.original_source(k), harness.TARGETS) for k in FILES}
    enumerated = {k: len(v) for k, v in all_sites.items()}
    enumerated_by_op = {k: dict(Counter(m.op for m in v)) for k, v in all_sites.items()}
    excluded = set()
    for other in filter(None, args.exclude.split(",")):  # a held-out sample: none of another run's mutants
        excluded |= {m["key"] for m in json.loads(Path(other).read_text())["mutants"]}
    all_sites = {k: [m for m in v if m.key not in excluded] for k, v in all_sites.items()}
    total = sum(len(v) for v in all_sites.values())
    chosen = {}
    for i, k in enumerate(FILES):
        n_k = round(args.n * len(all_sites[k]) / total) if i < len(FILES) - 1 else args.n - sum(
            len(v) for v in chosen.values())
        chosen[k] = mutate.sample(all_sites[k], n_k, seed=args.seed + i)
    state.data["meta"].update({"diffusers": diffusers.__version__, "seed": args.seed, "n": args.n,
                               "enumerated": enumerated, "enumerated_by_op": enumerated_by_op,
                               "excluded_from": args.exclude, "excluded": len(excluded),
                               "targets": list(harness.TARGETS)})
    known = {m["key"] for m in state.mutants}
    for k in FILES:
        src = harness.original_source(k)
        base = mutate.normalised(src)
        (work / f"original_{k}.py").write_text(base)
        for j, m in enumerate(chosen[k]):
            if m.key in known:
                continue
            text = mutate.apply(src, m, harness.TARGETS)
            mid = f"{k}-{j:03d}"
            (work / "mutants" / f"{mid}.py").write_text(text)
            state.mutants.append({"id": mid, "kind": k, "file": FILES[k], "key": m.key, "mutation": m.to_dict(),
                                  "diff": mutate.diff(base, text, f"diffusers/schedulers/{FILES[k]}")})
    state.save()
    log(f"generate: {total} mutations enumerated ({', '.join(f'{k} {len(v)}' for k, v in all_sites.items())}); "
        f"{len(state.mutants)} mutants sampled")


def _load(mut: dict, work: Path):
    return harness.load((work / "mutants" / f"{mut['id']}.py").read_text(), mut["kind"], mut["id"].replace("-", "_"))


_ORIG: dict = {}


def original_class(kind: str, work: Path):
    if kind not in _ORIG:
        _ORIG[kind] = harness.load((work / f"original_{kind}.py").read_text(), kind, "orig")
    return _ORIG[kind]


# ----- equivalence --------------------------------------------------------------------------------------------
def equiv(state: State, args) -> None:
    work = Path(args.work)
    refs = {}
    for i, mut in enumerate(state.mutants):
        if _skip(mut, args) or ("status" in mut and not args.redo):
            continue
        kind = mut["kind"]
        if kind not in refs:
            refs[kind] = list(harness.fingerprint(original_class(kind, work), kind))
        t0 = time.perf_counter()
        try:
            cls = _load(mut, work)
        except Exception as exc:  # noqa: BLE001
            mut.update(status="stillborn", stillborn=f"{type(exc).__name__}: {exc}")
            state.save()
            continue
        signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(args.budget)
        try:
            first = harness.first_difference(refs[kind], cls, kind)
            mut.update(status="live" if first else "equivalent", first_difference=first)
        except Timeout:
            mut.update(status="live", first_difference="timeout in the equivalence check")
        finally:
            signal.alarm(0)
        mut["equiv_seconds"] = round(time.perf_counter() - t0, 2)
        state.save()
        log(f"equiv {i + 1}/{len(state.mutants)} {mut['id']}: {mut['status']} ({mut.get('first_difference')})")


# ----- checker -------------------------------------------------------------------------------------------------
def checker_mode(args) -> str:
    from montecarlo.conformance import check_scheduler
    if args.mode != "auto":
        return args.mode
    return "sweep" if "sweep" in inspect.signature(check_scheduler).parameters else "fallback"


def fallback_configs(kind: str) -> list:
    return [{"beta_schedule": s, "prediction_type": p} for s in harness.SCHEDULES[kind] for p in harness.PREDS]


def _fail_keys(findings) -> set:
    return {(f.identity, f.check, f.grid, f.t) for f in findings if f.severity == "fail"
            and not getattr(f, "_known", False)}


class Killed(Exception):
    def __init__(self, where, detail):
        super().__init__(where)
        self.where, self.detail = where, detail


def _row_outcome(row):
    return {"status": row.status, "keys": _fail_keys(row.findings)}


def run_sweep(cls, baseline=None, quick=False):
    """check_scheduler(cls, sweep=True) row by row. With ``baseline`` (the original's rows), raises Killed at
    the first row with a new failure; without, returns the list of row outcomes (the baseline itself)."""
    from montecarlo.conformance import check_scheduler
    from montecarlo.conformance import sweep as sweep_mod
    rows = []
    real = sweep_mod._run_row

    def wrapped(*a, **kw):
        try:
            row = real(*a, **kw)
        except Exception as exc:  # noqa: BLE001 - a crash inside the sweep's row
            out = {"status": "RAISED", "keys": {("raised", type(exc).__name__, "", None)}, "label": "?"}
            i = len(rows)
            rows.append(out)
            if baseline is not None and (i >= len(baseline) or baseline[i]["status"] != "RAISED"):
                raise Killed(f"row {i}", f"the sweep's row raised {type(exc).__name__}: {exc}") from exc
            raise
        out = _row_outcome(row)
        out["label"] = row.label()
        i = len(rows)
        rows.append(out)
        if baseline is not None:
            base = baseline[i] if i < len(baseline) else {"status": "PASS", "keys": set(), "label": ""}
            new = out["keys"] - base["keys"]
            turned = out["status"] in ("FAIL", "REFUSED", "RAISED") and out["status"] != base["status"]
            if new or turned:
                f0 = next((f for f in row.findings if (f.identity, f.check, f.grid, f.t) in new), None)
                detail = (f"{f0.identity}/{f0.check} t={f0.t} [{f0.grid}]: {f0.message}" if f0 else
                          f"status {base['status']} -> {out['status']} {row.reason}")
                raise Killed(f"row {i} ({out['label']})", detail[:400])
        return row

    sweep_mod._run_row = wrapped
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check_scheduler(cls, sweep=True, quick=quick) if quick else check_scheduler(cls, sweep=True)
    finally:
        sweep_mod._run_row = real
    return rows


def run_fallback(cls, kind, baseline=None):
    from montecarlo.conformance import check_scheduler
    rows = []
    for i, cfg in enumerate(fallback_configs(kind)):
        label = " ".join(f"{k}={v}" for k, v in cfg.items())
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rep = check_scheduler(cls(**cfg), spacings="all")
            out = {"status": rep.status, "keys": _fail_keys(rep.findings), "label": label}
        except Exception as exc:  # noqa: BLE001
            out = {"status": "RAISED", "keys": {("raised", type(exc).__name__, "", None)}, "label": label}
            rep = None
        rows.append(out)
        if baseline is not None:
            base = baseline[i]
            new = out["keys"] - base["keys"]
            turned = out["status"] in ("FAIL", "RAISED") and out["status"] != base["status"]
            if new or turned:
                f0 = next((f for f in rep.findings if (f.identity, f.check, f.grid, f.t) in new), None) if rep else None
                detail = (f"{f0.identity}/{f0.check} t={f0.t} [{f0.grid}]: {f0.message}" if f0 else
                          f"status {base['status']} -> {out['status']} {sorted(map(str, out['keys']))[:1]}")
                raise Killed(f"config {i} ({label})", detail[:400])
    return rows


def control(state: State, args) -> None:
    """The checker on the EQUIVALENT mutants: a sound kill criterion kills none of them (a kill here is a
    false alarm of the benchmark's criterion, or a difference the equivalence fingerprint missed)."""
    checker(state, args, field_="control", status="equivalent")


def checker(state: State, args, field_: str = "checker", status: str = "live") -> None:
    work = Path(args.work)
    mode = checker_mode(args)
    import hashlib
    from montecarlo.conformance import check_scheduler
    src = Path(inspect.getsourcefile(check_scheduler)).parent
    meta = state.data["meta"]
    if field_ == "checker" and args.redo and "checker_sources_sha256" in meta:  # keep what the previous run was measured against
        meta.setdefault("checker_history", []).append(
            {k: meta.get(k) for k in ("checker_started", "checker_sources_sha256", "checker_baseline")}
            | {"summary": summarise(state)["all"]})
        meta.pop("checker_baseline", None)
    meta[f"{field_}_started"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    meta[f"{field_}_sources_sha256"] = {
        f.name: hashlib.sha256(f.read_bytes()).hexdigest()[:16] for f in sorted(src.glob("*.py"))}
    meta["checker_signature"] = str(inspect.signature(check_scheduler))
    baselines = {}
    for i, mut in enumerate(state.mutants):
        if _skip(mut, args) or mut.get("status") != status or (
                field_ in mut and mut[field_].get("mode", "").split("-")[0] == mode and not args.redo):
            continue
        kind = mut["kind"]
        if kind not in baselines:
            t0 = time.perf_counter()
            orig = original_class(kind, work)
            baselines[kind] = run_sweep(orig, quick=args.quick) if mode == "sweep" else run_fallback(orig, kind)
            state.data["meta"].setdefault(f"{field_}_baseline", {})[kind] = {
                "mode": mode, "seconds": round(time.perf_counter() - t0, 1), "rows": len(baselines[kind]),
                "rows_failing": sum(r["status"] in ("FAIL", "RAISED") for r in baselines[kind]),
                "failing_rows": [r["label"] for r in baselines[kind] if r["status"] in ("FAIL", "RAISED")]}
            log(f"{field_} baseline {kind} ({mode}): {state.data['meta'][f'{field_}_baseline'][kind]}")
        cls = _load(mut, work)
        t0 = time.perf_counter()
        res = {"mode": mode + ("-quick" if args.quick and mode == "sweep" else ""),
               "started": time.strftime("%H:%M:%S", time.gmtime())}
        if field_ in mut:
            mut.setdefault(f"{field_}_history", []).append(mut[field_])
        signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(args.budget)
        try:
            rows = (run_sweep(cls, baselines[kind], quick=args.quick) if mode == "sweep"
                    else run_fallback(cls, kind, baselines[kind]))
            res.update(killed=False, rows=len(rows))
        except Killed as k:
            res.update(killed=True, where=k.where, detail=k.detail)
        except Timeout:
            res.update(killed=False, timeout=True)
        except Exception as exc:  # noqa: BLE001 - the checker itself raised outside a row
            res.update(killed=True, where="check_scheduler", detail=f"raised {type(exc).__name__}: {exc}"[:400])
        finally:
            signal.alarm(0)
        res["seconds"] = round(time.perf_counter() - t0, 1)
        mut[field_] = res
        state.save()
        log(f"{field_} {i + 1}/{len(state.mutants)} {mut['id']} {mut['mutation']['op']}: "
            f"{'KILLED' if res.get('killed') else ('TIMEOUT' if res.get('timeout') else 'survived')} "
            f"in {res['seconds']} s {res.get('where', '')}")
        if args.survivors_every and not res.get("killed") and field_ == "checker":
            write_survivors(state, args)


# ----- diffusers' tests --------------------------------------------------------------------------------------
def _prepare_tests(args) -> Path:
    src = Path(args.tests)
    dst = Path(args.work) / "dtests"
    pkg = dst / "diffusers_tests"
    pkg.mkdir(parents=True, exist_ok=True)
    for name in ("test_schedulers.py", "test_scheduler_ddpm.py", "test_scheduler_ddim.py"):
        if not (src / name).exists():
            raise SystemExit(f"diffusers' tests not found: {src / name} (see README.md: --tests)")
        shutil.copy(src / name, pkg / name)
    (pkg / "__init__.py").write_text("")
    shutil.copy(HERE / "diffusers_harness" / "conftest.py", pkg / "conftest.py")
    (dst / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider -W ignore::FutureWarning\n")
    return dst


def _pytest(dst: Path, kind: str, mutant_file: Path | None, deselect: list, stop_first: bool, timeout: int):
    env = dict(os.environ, MUTATION_HARNESS_DIR=str(HERE), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.pop("MUTANT_FILE", None)
    if mutant_file is not None:
        env.update(MUTANT_FILE=str(mutant_file), MUTANT_KIND=kind)
    cmd = [sys.executable, "-m", "pytest", "-c", str(dst / "pytest.ini"), "--rootdir", str(dst), "-q", "-rf",
           "--no-header", "-p", "no:randomly", f"diffusers_tests/test_scheduler_{kind}.py"]
    cmd += ["-x"] if stop_first else []
    for d in deselect:
        cmd += ["--deselect", d]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=dst, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"timeout": True, "seconds": round(time.perf_counter() - t0, 1)}
    failed = [line.split()[1] for line in p.stdout.splitlines() if line.startswith(("FAILED ", "ERROR "))]
    tail = [line for line in p.stdout.splitlines() if " passed" in line or " failed" in line or " error" in line]
    return {"rc": p.returncode, "failed": failed, "summary": tail[-1] if tail else p.stdout[-300:],
            "seconds": round(time.perf_counter() - t0, 1)}


def _pytest_fork(dst: Path, kind: str, mutant_file: Path | None, deselect: list, stop_first: bool, timeout: int):
    """As _pytest, in a forked child of this process (torch, diffusers and pytest already imported: ~1 s per
    mutant instead of ~10 s of start-up); the child is killed after ``timeout`` seconds."""
    import pytest  # noqa: F401 - imported once, before the fork
    out = Path(args_work_global) / "pytest_out.txt"
    argv = ["-c", str(dst / "pytest.ini"), "--rootdir", str(dst), "-q", "-rf", "--no-header", "-p", "no:randomly",
            f"diffusers_tests/test_scheduler_{kind}.py"] + (["-x"] if stop_first else [])
    for d in deselect:
        argv += ["--deselect", d]
    t0 = time.perf_counter()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.environ["MUTATION_HARNESS_DIR"] = str(HERE)
            os.environ.pop("MUTANT_FILE", None)
            if mutant_file is not None:
                os.environ.update(MUTANT_FILE=str(mutant_file), MUTANT_KIND=kind)
            os.chdir(dst)
            sys.path.insert(0, str(dst))
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            import pytest as _pt
            rc = int(_pt.main(argv))
        except BaseException:  # noqa: BLE001
            rc = 99
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(rc)
    rc = None
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            rc = os.waitstatus_to_exitcode(status)
            break
        if time.perf_counter() - t0 > timeout:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return {"timeout": True, "seconds": round(time.perf_counter() - t0, 1)}
        time.sleep(0.05)
    text = out.read_text(errors="replace") if out.exists() else ""
    failed = [line.split()[1] for line in text.splitlines() if line.startswith(("FAILED ", "ERROR "))]
    tail = [line for line in text.splitlines() if " passed" in line or " failed" in line or " error" in line]
    return {"rc": rc, "failed": failed, "summary": tail[-1] if tail else text[-300:],
            "seconds": round(time.perf_counter() - t0, 1)}


args_work_global = "/tmp/mutation/work"


def _preimport() -> None:
    """What diffusers' scheduler tests import, imported before forking."""
    import diffusers
    import pytest  # noqa: F401
    for name in ("CMStochasticIterativeScheduler", "EulerAncestralDiscreteScheduler", "EulerDiscreteScheduler",
                 "IPNDMScheduler", "LMSDiscreteScheduler", "VQDiffusionScheduler", "DDPMScheduler", "DDIMScheduler"):
        getattr(diffusers, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import diffusers.utils.testing_utils  # noqa: F401


def dtests(state: State, args) -> None:
    global args_work_global
    work = Path(args.work)
    args_work_global = args.work
    dst = _prepare_tests(args)
    run_tests = _pytest if args.dtests_subprocess else _pytest_fork
    if not args.dtests_subprocess:
        _preimport()
    state.data["meta"]["dtests_runner"] = "subprocess" if args.dtests_subprocess else "fork"
    base = state.data["meta"].setdefault("dtests_baseline", {})
    for kind in FILES:
        if kind not in base or args.redo:
            r = run_tests(dst, kind, work / f"original_{kind}.py", [], False, 600)
            r0 = run_tests(dst, kind, None, [], False, 600)
            base[kind] = {"failing_on_original": r["failed"], "summary": r["summary"],
                          "installed_diffusers_summary": r0["summary"],
                          "installed_diffusers_failing": r0["failed"]}
            state.save()
            log(f"dtests baseline {kind}: {base[kind]}")
    for i, mut in enumerate(state.mutants):
        if _skip(mut, args) or mut.get("status") != "live" or ("dtests" in mut and not args.redo):
            continue
        kind = mut["kind"]
        r = run_tests(dst, kind, work / "mutants" / f"{mut['id']}.py", base[kind]["failing_on_original"], True,
                      args.budget)
        r["killed"] = bool(r.get("failed")) or (r.get("rc") not in (0, None) and not r.get("timeout"))
        mut["dtests"] = r
        state.save()
        log(f"dtests {i + 1}/{len(state.mutants)} {mut['id']}: {'KILLED' if r['killed'] else 'survived'} "
            f"{r.get('failed', [''])[:1]} {r['seconds']} s")


# ----- report ---------------------------------------------------------------------------------------------------
def _diagnose(mut: dict, work: Path) -> dict:
    """Where the survivor differs from the original, measured: count of differing outputs of the
    equivalence fingerprint, their kinds, and the largest relative difference of float outputs."""
    import torch
    kind = mut["kind"]
    ref = dict(harness.fingerprint(original_class(kind, work), kind))
    got = dict(harness.fingerprint(_load(mut, work), kind))
    cfgs = harness.configs(kind)
    diffs, kinds, max_rel, cfg_ids = 0, Counter(), 0.0, set()

    def rel(a, b):
        if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
            return max([rel(x, y) for x, y in zip(a, b)] + [0.0])
        if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape \
                and a.dtype.is_floating_point:
            a, b = a.double(), b.double()
            d = (a - b).abs() / torch.maximum(a.abs(), b.abs()).clamp_min(1e-30)
            d = torch.where(torch.isnan(a) & torch.isnan(b), torch.zeros_like(d), d)
            d = torch.nan_to_num(d, nan=float("inf"))
            return float(d.max()) if d.numel() else 0.0
        return float("inf")

    for lab, v in ref.items():
        if not harness.same(v, got.get(lab)):
            diffs += 1
            cfg_ids.add(lab.split(".")[0])
            part = lab.split(".")[-1]
            kinds["".join(c for c in part if not c.isdigit()).split("e0")[0].split("e1")[0][:12]] += 1
            max_rel = max(max_rel, rel(v, got.get(lab)))
    examples = sorted(cfg_ids, key=lambda c: int(c[3:]))[:3]
    return {"outputs_differing": diffs, "outputs_total": len(ref), "by_output": dict(kinds.most_common(8)),
            "max_rel_diff": max_rel, "configs_differing": len(cfg_ids),
            "example_configs": {c: cfgs[int(c[3:])] for c in examples}}


def _table(rows, head):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def _pct(a, b):
    return f"{a} ({100.0 * a / b:.1f}%)" if b else f"{a} (-)"


def summarise(state: State) -> dict:
    groups = {"all": state.mutants}
    for k in FILES:
        groups[f"file {FILES[k]}"] = [m for m in state.mutants if m["kind"] == k]
    for op in mutate.OPS:
        groups[f"op {op}"] = [m for m in state.mutants if m["mutation"]["op"] == op]
    out = {}
    for name, ms in groups.items():
        live = [m for m in ms if m.get("status") == "live"]
        ck = [m for m in live if "checker" in m]
        dt = [m for m in live if "dtests" in m]
        both_done = [m for m in live if "checker" in m and "dtests" in m]
        kc = {m["id"] for m in ck if m["checker"].get("killed")}
        kd = {m["id"] for m in dt if m["dtests"].get("killed")}
        bd = {m["id"] for m in both_done}
        out[name] = {"generated": len(ms), "stillborn": sum(m.get("status") == "stillborn" for m in ms),
                     "equivalent": sum(m.get("status") == "equivalent" for m in ms), "non_equivalent": len(live),
                     "checker_run": len(ck), "killed_checker": len(kc),
                     "checker_timeouts": sum(bool(m["checker"].get("timeout")) for m in ck),
                     "dtests_run": len(dt), "killed_dtests": len(kd),
                     "both_run": len(bd), "killed_both": len(kc & kd & bd), "killed_either": len((kc | kd) & bd),
                     "killed_checker_only": len((kc - kd) & bd), "killed_dtests_only": len((kd - kc) & bd),
                     "equivalent_checked": sum("control" in m for m in ms if m.get("status") == "equivalent"),
                     "equivalent_killed_by_checker": sum(bool(m.get("control", {}).get("killed")) for m in ms
                                                         if m.get("status") == "equivalent")}
    return out


def survivors(state: State) -> list:
    return [m for m in state.mutants if m.get("status") == "live" and "checker" in m and not m["checker"].get("killed")]


def _survivor_md(state: State, work: Path, notes: dict, diagnose: bool) -> str:
    lines = []
    for m in survivors(state):
        if diagnose and "diagnosis" not in m:
            try:
                m["diagnosis"] = _diagnose(m, work)
            except Exception as exc:  # noqa: BLE001
                m["diagnosis"] = {"error": f"{type(exc).__name__}: {exc}"}
        d = m.get("diagnosis", {})
        dt = m.get("dtests", {})
        lines.append(f"### {m['id']} ({m['mutation']['op']}: {m['mutation']['variant']}, in {m['mutation']['function']})")
        lines.append("")
        lines.append("```diff\n" + m["diff"].rstrip() + "\n```")
        lines.append("")
        if m["checker"].get("timeout"):
            lines.append(f"- checker: TIMEOUT after {m['checker']['seconds']} s ({m['checker']['mode']})")
        else:
            lines.append(f"- checker ({m['checker']['mode']}): survived, {m['checker']['seconds']} s")
        lines.append(f"- diffusers' tests: {'killed by ' + ', '.join(dt.get('failed', [])[:2]) if dt.get('killed') else ('survived' if dt else 'not run yet')}")
        if d and "error" not in d:
            lines.append(f"- measured: {d['outputs_differing']} of {d['outputs_total']} fingerprint outputs differ, in "
                         f"{d['configs_differing']} of {len(harness.configs(m['kind']))} configurations; by output: "
                         f"{d['by_output']}; max relative difference {d['max_rel_diff']:.3g}; first difference "
                         f"`{m.get('first_difference')}`; e.g. configurations {json.dumps(d['example_configs'])}")
        note = notes.get(m["key"])
        lines.append(f"- why it survived: {note}" if note else "- why it survived: (analysis pending)")
        lines.append("")
    return "\n".join(lines)


def _runs_md(state: State) -> str:
    meta = state.data["meta"]
    runs = list(meta.get("checker_history", [])) + [
        {k: meta.get(k) for k in ("checker_started", "checker_sources_sha256")} | {"summary": summarise(state)["all"]}]
    rows = []
    for r in runs:
        sm = r.get("summary") or {}
        sha = r.get("checker_sources_sha256") or {}
        rows.append([r.get("checker_started") or "(first run: see the mutants' checker_history)",
                     _pct(sm.get("killed_checker", 0), sm.get("checker_run", 0)),
                     f"sweep.py {sha.get('sweep.py', '?')}, checker.py {sha.get('checker.py', '?')}"])
    return _table(rows, ["checker run started", "killed by checker", "checker sources (sha256, first 16)"])


def _earlier_md(state: State) -> str:
    lines = []
    for m in state.mutants:
        hist = [h for h in m.get("checker_history", []) if not h.get("killed")]
        if hist and m.get("checker", {}).get("killed"):
            ch = [x for x in m["diff"].splitlines() if x.startswith(("+", "-")) and not x.startswith(("+++", "---"))]
            lines.append(f"- {m['id']} ({m['mutation']['op']}: {m['mutation']['variant']}, "
                         f"{m['mutation']['function']}): `{ch[-1][1:].strip()[:120]}`; now killed at "
                         f"{m['checker'].get('where')}: {m['checker'].get('detail', '')[:240]}")
            note = _notes().get(m["key"])
            if note:
                lines.append(f"  - why it had survived: {note}")
    return "\n".join(lines) + ("\n" if lines else "")


def write_survivors(state: State, args, diagnose: bool = True) -> None:
    notes = _notes()
    path = Path(args.survivors)
    path.parent.mkdir(parents=True, exist_ok=True)
    s = summarise(state)["all"]
    head = (f"# Sweep survivors (updated {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())})\n\n"
            f"checker run on {s['checker_run']} of {s['non_equivalent']} non-equivalent mutants; killed "
            f"{s['killed_checker']}; survivors so far: {len(survivors(state))}\n\n")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(head + _survivor_md(state, Path(args.work), notes, diagnose))
    os.replace(tmp, path)
    state.save()


def _notes() -> dict:
    p = HERE / "survivor_notes.json"
    return json.loads(p.read_text()) if p.exists() else {}


def report(state: State, args) -> None:
    work = Path(args.work)
    s = summarise(state)
    state.data["summary"] = s
    meta = state.data["meta"]
    head = ["group", "generated", "stillborn", "equivalent", "non-equivalent", "killed by checker",
            "killed by diffusers tests", "by both", "by either", "checker only", "tests only", "checker timeouts",
            "equivalent killed by checker (control)"]
    rows = []
    for name, g in s.items():
        ne = g["non_equivalent"]
        rows.append([name, g["generated"], g["stillborn"], g["equivalent"], ne,
                     _pct(g["killed_checker"], g["checker_run"]), _pct(g["killed_dtests"], g["dtests_run"]),
                     _pct(g["killed_both"], g["both_run"]), _pct(g["killed_either"], g["both_run"]),
                     g["killed_checker_only"], g["killed_dtests_only"], g["checker_timeouts"],
                     f"{g['equivalent_killed_by_checker']} of {g['equivalent_checked']}"])
    modes = Counter(m["checker"]["mode"] for m in state.mutants if "checker" in m)
    md = ["# Mutation benchmark results\n",
          f"diffusers {meta.get('diffusers')}; {sum(meta.get('enumerated', {}).values())} mutations enumerated "
          f"({meta.get('enumerated')}), {len(state.mutants)} sampled (seed {meta.get('seed')}); checker mode(s): "
          f"{dict(modes)}; percentages are of the mutants each tool was run on.\n",
          _table(rows, head), "",
          "## Baselines (the unmutated module)\n",
          "checker: " + json.dumps(meta.get("checker_baseline", {})), "",
          "diffusers' tests: " + json.dumps(meta.get("dtests_baseline", {})), "",
          "## Checker runs\n", _runs_md(state), "",
          "## Survivors of the checker\n", _survivor_md(state, work, _notes(), True) or "None.\n",
          "## Earlier survivors, killed by a later version of the checker\n", _earlier_md(state) or "None.\n"]
    (Path(args.out) / "results.md").write_text("\n".join(md))
    state.save()
    write_survivors(state, args, diagnose=False)
    log("report: " + json.dumps(s["all"]))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--phases", default=",".join(PHASES))
    p.add_argument("--n", type=int, default=200, help="mutants sampled across both files (default 200)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--budget", type=int, default=180, help="seconds per mutant and phase (default 180)")
    p.add_argument("--mode", choices=("auto", "sweep", "fallback"), default="auto")
    p.add_argument("--quick", action="store_true", help="the sweep's quick design")
    p.add_argument("--out", default=str(HERE), help="where results.json/results.md go (default: next to run.py)")
    p.add_argument("--work", default="/tmp/mutation/work", help="mutant module texts and the test work tree")
    p.add_argument("--tests", default="/tmp/mutation/diffusers_tests",
                   help="folder with diffusers' test_schedulers.py, test_scheduler_ddpm.py, test_scheduler_ddim.py")
    p.add_argument("--exclude", default="",
                   help="results.json files whose mutants are left out of the sample (a held-out sample)")
    p.add_argument("--survivors", default="/tmp/mutation/survivors.md")
    p.add_argument("--survivors-every", action="store_true", help="rewrite --survivors after every survivor")
    p.add_argument("--dtests-subprocess", action="store_true",
                   help="run diffusers' tests in a fresh python per mutant (default: a forked child of this process)")
    p.add_argument("--redo", action="store_true", help="recompute phases that already have results")
    p.add_argument("--only", default="", help="comma-separated mutant ids to (re)run")
    args = p.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    state = State(Path(args.out) / "results.json")
    phases = [x for x in args.phases.split(",") if x]
    bad = [x for x in phases if x not in PHASES]
    if bad:
        p.error(f"unknown phase {bad[0]!r}; phases: {', '.join(PHASES)}")
    for ph in PHASES:
        if ph in phases:
            {"generate": generate, "equiv": equiv, "checker": checker, "control": control, "dtests": dtests,
             "report": report}[ph](state, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
