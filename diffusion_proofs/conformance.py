"""``diffusion-proofs conformance`` and ``diffusion-proofs health``: a scheduler against the identities,
and the health of a schedule.

The parsers import nothing heavy (``--help`` prints at once); torch and :mod:`montecarlo.conformance`
are imported when a command runs. Every input is checked before any work: the argparse types of
:mod:`diffusion_proofs.options`, then the scheduler itself (resolved and adapted) before it is probed.
An odd but legal configuration (beta decreasing, a very short chain, ...) gets a note: :func:`schedule_notes`.
"""
from __future__ import annotations

import argparse
import json

from . import options
from .options import InputError

#: probe dtypes (the keys of ``montecarlo.conformance.checker._DTYPES``; a test keeps them equal)
PROBE_DTYPES = ("bfloat16", "float16", "float32", "float64")
#: named schedules of ``health`` (``montecarlo.conformance.health.NAMED_SCHEDULES``; a test keeps them equal)
NAMED_SCHEDULES = ("linear", "scaled_linear", "sd", "cosine", "sigmoid")
SPACINGS = ("leading", "trailing", "linspace")
SHORT_CHAIN = 10  # a schedule with fewer steps gets a note


def _timesteps(text) -> list:
    """--timesteps: comma-separated integers (paper t's, range checked against T once the scheduler is known)."""
    try:
        values = [int(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated integers, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError(f"names no timestep: {text!r}")
    return values


def _spacings(text):
    """--spacings: 'all' or a comma list of leading, trailing, linspace."""
    if text == "all":
        return "all"
    values = [v.strip() for v in str(text).split(",") if v.strip()]
    bad = [v for v in values if v not in SPACINGS]
    if bad or not values:
        raise argparse.ArgumentTypeError(f"{text!r}: use 'all' or a comma list of {', '.join(SPACINGS)}")
    return values


def schedule_notes(schedule) -> list[str]:
    """Notes on an odd but legal schedule (a :class:`montecarlo.schedules.Schedule`): beta_t that decreases
    somewhere, a very short chain, a step that destroys all signal before T. Empty for the usual ones."""
    import numpy as np

    T = schedule.T
    beta = np.asarray(schedule.beta(np.arange(1, T + 1)), dtype=float)
    notes = []
    drops = np.nonzero(np.diff(beta) < 0)[0]
    if drops.size:
        k = int(drops[0]) + 1
        where = (f"beta decreases over the whole schedule (beta_1 = {beta[0]:.4g} > beta_T = {beta[-1]:.4g}; "
                 "beta_start > beta_end?)" if drops.size == T - 1 else
                 f"beta_t decreases at {drops.size} of {T - 1} steps, first at t = {k + 1} "
                 f"(beta_{k} = {beta[k - 1]:.4g} > beta_{k + 1} = {beta[k]:.4g})")
        notes.append(f"{where}: legal, and the identities still hold, but DDPM schedules add noise ever faster "
                     "(beta_t increasing); check the schedule is the one you meant")
    if T < SHORT_CHAIN:
        notes.append(f"T = {T} steps: a very short chain; the identities hold for every T, but t = T is reached "
                     "after few steps")
    full = np.nonzero(beta[:-1] >= 1.0)[0]
    if full.size:
        notes.append(f"beta_{int(full[0]) + 1} = 1 before the last step: x_t keeps nothing of x_0 from there on")
    return notes


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``diffusion-proofs conformance``."""
    parser.description = ("Check a scheduler against the proved identities: abar product, add_noise (forward "
                          "marginal), step mean (posterior / posterior_eps) and noise, v conversions, DDIM eta.")
    parser.epilog = ("example: diffusion-proofs conformance diffusers:DDPMScheduler --config "
                     "'{\"beta_schedule\": \"linear\", \"num_train_timesteps\": 100}'   (or mymodule:make_sampler). "
                     "Timesteps: diffusers k = paper t - 1. Exit 0 pass, 1 a check failed, 2 bad input.")
    parser.add_argument("scheduler", help="module:factory, e.g. diffusers:DDPMScheduler (imported with importlib, "
                        "called with --config as keyword arguments)")
    parser.add_argument("--config", type=options.json_object, default={},
                        help="JSON object of keyword arguments for the factory")
    parser.add_argument("--dtype", default=None, choices=PROBE_DTYPES, help="probe dtype (default float32)")
    parser.add_argument("--alpha", type=options.probability, default=1e-6,
                        help="family-wise false-alarm rate of noise tests, in (0, 1)")
    parser.add_argument("--seed", type=options.non_negative_int, default=0)
    parser.add_argument("--timesteps", type=_timesteps, default=None,
                        help="comma-separated paper t's (1-based) to probe; default all")
    parser.add_argument("--num-inference-steps", type=options.positive_int, default=None,
                        help="steps of the strided grids")
    parser.add_argument("--spacings", type=_spacings, default=None, help="comma list of leading,trailing,linspace "
                        "or 'all' (default: the configured timestep_spacing)")
    parser.add_argument("--limit", type=options.positive_int, default=None,
                        help="rows of the table (default 40; --sweep: every configuration)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--all", action="store_true", help="with scheduler 'diffusers': check every scheduler "
                        "class diffusers ships, default config, one row each (exit 1 if any FAILs)")
    parser.add_argument("--sweep", action="store_true", help="DDPM/DDIM(-Parallel): check every documented "
                        "configuration axis (covering design; one row per configuration; exit 1 if any FAILs); "
                        "--config gives the base configuration")
    parser.add_argument("--quick", action="store_true", help="with --sweep: the quick design (9 configurations, "
                        "every value of every axis)")


def _run_all(args) -> int:
    """``conformance diffusers --all``: one row per diffusers scheduler class."""
    if args.scheduler != "diffusers":
        raise InputError(f"--all checks every diffusers scheduler: give the scheduler as 'diffusers', got "
                         f"{args.scheduler!r}")
    try:
        import diffusers  # noqa: F401
    except ImportError as exc:
        raise InputError(f"--all needs diffusers (pip install diffusers): {exc}") from exc
    from montecarlo.conformance.survey import check_all, format_rows
    rows = check_all(alpha=args.alpha, seed=args.seed)
    if args.json:
        print(json.dumps([{"scheduler": name, "seconds": round(sec, 3)} | (
            report.to_dict() if report is not None else {"status": "UNSUPPORTED", "passed": False, "reason": err,
                                                          "kind": "unsupported", "order": None, "findings": []})
            for name, report, err, sec in rows], indent=2))
    else:
        print(format_rows(rows))
    return 1 if any(r is not None and r.status == "FAIL" for _, r, _, _ in rows) else 0


def _check_sweep_options(args) -> None:
    """--quick needs --sweep; --sweep chooses the grids, timesteps and dtype itself and checks one class."""
    sweep = getattr(args, "sweep", False)
    if getattr(args, "quick", False) and not sweep:
        raise InputError("--quick selects the quick sweep design: it needs --sweep")
    if not sweep:
        return
    for flag, value in (("--all", getattr(args, "all", False)), ("--timesteps", args.timesteps),
                        ("--num-inference-steps", args.num_inference_steps), ("--spacings", args.spacings),
                        ("--dtype", args.dtype)):
        if value:
            shown = "" if value is True else f" {value if not isinstance(value, list) else ','.join(map(str, value))}"
            raise InputError(f"--sweep cannot be combined with {flag}{shown}: the sweep checks one scheduler class and "
                             "chooses grids, timesteps and probe dtypes itself (every axis value is swept)")


def _run_sweep(args) -> int:
    """``conformance module:Class --sweep [--quick]``: one row per configuration of the covering design."""
    from montecarlo.conformance import check_scheduler

    sched = _resolve(args.scheduler, args.config)
    try:
        from montecarlo.conformance.sweep import _factory
        _factory(sched)  # a DDPM/DDIM class or instance? (before any probing)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    with options.phase(f"conformance sweep of {type(sched).__name__}"):
        report = check_scheduler(sched, sweep=True, quick=args.quick, alpha=args.alpha, seed=args.seed)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.format_table(limit=args.limit))
    return 0 if report.passed else 1


def _resolve(spec: str, config: dict):
    """The user's scheduler or sampler; InputError (exit 2) when the spec cannot be resolved."""
    from montecarlo.conformance import SpecError, resolve_spec

    try:
        return resolve_spec(spec, config)
    except SpecError as exc:
        raise InputError(str(exc)) from exc


def run_cli(args: argparse.Namespace) -> int:
    """Run ``check_scheduler`` on the resolved spec; print a table (or JSON); return 0/1 (2: InputError)."""
    from montecarlo.conformance import adapt, as_schedule, check_scheduler
    from montecarlo.conformance.classify import classify

    _check_sweep_options(args)
    if getattr(args, "sweep", False):
        return _run_sweep(args)
    if args.dtype is None:
        args.dtype = "float32"
    if args.limit is None:
        args.limit = 40
    if getattr(args, "all", False):
        return _run_all(args)
    sched = _resolve(args.scheduler, args.config)
    cls = classify(sched)
    if cls.kind == "unsupported":
        if args.json:
            report = check_scheduler(sched, alpha=args.alpha, seed=args.seed)
            print(json.dumps(report.to_dict(), indent=2))
        raise InputError(f"{type(sched).__name__} is UNSUPPORTED: {cls.reason}")
    if cls.frame not in (None, "abar") or cls.kind != "posterior":  # ODE/SDE/ancestral samplers: own checks
        with options.phase(f"conformance of {type(sched).__name__}"):
            report = check_scheduler(sched, alpha=args.alpha, seed=args.seed,
                                     num_inference_steps=args.num_inference_steps)
        print(json.dumps(report.to_dict(), indent=2) if args.json else report.format_table(limit=args.limit))
        return 0 if report.passed else 1
    try:  # is it a scheduler at all, and are the options right for it? (before any probing)
        adapter = adapt(sched, num_inference_steps=args.num_inference_steps, spacings=args.spacings)
        notes = schedule_notes(as_schedule(sched))
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    bad = [t for t in args.timesteps or () if not 1 <= t <= adapter.T]
    if bad:
        raise InputError(f"--timesteps: t = {bad[0]} is out of range: paper t's are 1..T={adapter.T} "
                         "(diffusers k = t - 1)")
    if args.timesteps and len(set(args.timesteps)) < len(args.timesteps):
        notes.append("--timesteps repeats some t: each is probed once")
    with options.phase(f"conformance of {adapter.name}"):
        report = check_scheduler(sched, alpha=args.alpha, seed=args.seed, timesteps=args.timesteps, dtype=args.dtype,
                                 num_inference_steps=args.num_inference_steps, spacings=args.spacings)
    if args.json:
        print(json.dumps(report.to_dict() | {"schedule_notes": notes}, indent=2))
    else:
        print(report.format_table(limit=args.limit))
        for note in notes:
            print(f"note: {note}")
    return 0 if report.passed else 1


# ----- CLI hook -----------------------------------------------------------------------------------
def add_health_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``diffusion-proofs health``."""
    parser.description = ("Schedule health: terminal abar_T, SNR_T, prior gap L_T = KL(q(x_T|x_0) || N(0, I)) per "
                          "dimension (E x_0^2 = 1), before and after the zero-terminal-SNR rescale.")
    parser.epilog = ("example: diffusion-proofs health sd --T 1000    |    diffusion-proofs health "
                     "diffusers:DDPMScheduler --config '{\"beta_schedule\": \"scaled_linear\"}'")
    parser.add_argument("schedule", help=f"one of {', '.join(NAMED_SCHEDULES)} (sd = scaled_linear 0.00085..0.012), "
                        "or module:factory (a scheduler class or function, called with --config as kwargs)")
    parser.add_argument("--T", type=options.positive_int, default=1000, help="steps for a named schedule (default 1000)")
    parser.add_argument("--beta-start", type=float, default=None, help="named linear/scaled_linear/sigmoid schedules")
    parser.add_argument("--beta-end", type=float, default=None)
    parser.add_argument("--config", type=options.json_object, default={},
                        help="JSON object of keyword arguments for module:factory")
    parser.add_argument("--x0-second-moment", type=options.finite_non_negative, default=1.0,
                        help="E[x_0^2] in L_T (default 1)")
    parser.add_argument("--dims", type=options.positive_int, default=None, help="also print L_T for this many dimensions")
    parser.add_argument("--figure", type=options.output_file, default=None,
                        help="save Lin et al.'s sqrt(abar)/log-SNR comparison PNG here")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the schedule itself (not its rescale) has a warning")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _named(args):
    name = "scaled_linear" if args.schedule == "sd" else args.schedule
    kwargs = {}
    if args.beta_start is not None:
        kwargs["beta_start"] = args.beta_start
    if args.beta_end is not None:
        kwargs["beta_end"] = args.beta_end
    if kwargs and name == "cosine":
        raise InputError("--beta-start/--beta-end do not apply to the cosine schedule")
    from montecarlo.schedules import Schedule

    try:
        return getattr(Schedule, name)(args.T, **kwargs)
    except ValueError as exc:
        raise InputError(f"{name} schedule with T={args.T}"
                         + "".join(f", {k}={v!r}" for k, v in kwargs.items()) + f": {exc}") from exc


def run_health_cli(args: argparse.Namespace) -> int:
    """Print the health of the schedule and of its zero-terminal-SNR rescale; exit 0 (1 with
    --strict and a warning; 2, via InputError, on bad input)."""
    from montecarlo.conformance import as_schedule, lin_et_al_figure, schedule_health

    if args.schedule in NAMED_SCHEDULES:
        sched = _named(args)
    else:
        if ":" not in args.schedule:
            raise InputError(f"unknown schedule {args.schedule!r}: use one of {', '.join(NAMED_SCHEDULES)}, "
                             "or module:factory (e.g. diffusers:DDPMScheduler)")
        try:
            sched = as_schedule(_resolve(args.schedule, args.config))
        except InputError:
            raise
        except ValueError as exc:
            raise InputError(str(exc)) from exc
    rows = [schedule_health(sched, x0_second_moment=args.x0_second_moment)]
    if sched.T >= 2 and rows[0].alpha_bar_T > 0:
        rows.append(schedule_health(sched.rescale_zero_terminal_snr(), x0_second_moment=args.x0_second_moment))
    notes = schedule_notes(sched)
    if args.x0_second_moment == 0:
        notes.append("--x0-second-moment 0: the data sit at the origin, so L_T measures the noise alone")
    if args.figure:
        lin_et_al_figure(sched.T if args.schedule in ("sd", "scaled_linear") else 1000, str(args.figure))
    if args.json:
        out = [r.to_dict() | ({"prior_kl_total": r.prior_kl(args.dims), "dims": args.dims} if args.dims else {})
               | ({"notes": notes} if k == 0 else {}) for k, r in enumerate(rows)]
        print(json.dumps(out, indent=2))
    else:
        head = f"{'schedule':<40} {'T':>5} {'abar_T':>10} {'sqrt(abar_T)':>12} {'SNR_T':>10} {'L_T nats/dim':>13}"
        if args.dims:
            head += f" {'L_T x ' + str(args.dims):>14}"
        print(head)
        for r in rows:
            line = (f"{r.name:<40} {r.T:>5} {r.alpha_bar_T:>10.4g} {r.sqrt_alpha_bar_T:>12.4g} {r.snr_T:>10.4g} "
                    f"{r.prior_kl_per_dim:>13.4g}")
            if args.dims:
                line += f" {r.prior_kl(args.dims):>14.4g}"
            print(line)
        print(f"(L_T = KL(q(x_T|x_0) || N(0, I)) per dimension for E[x_0^2] = {args.x0_second_moment:g})")
        for r in rows:
            for w in r.warnings:
                print(f"warning [{r.name}]: {w}")
        for note in notes:
            print(f"note [{rows[0].name}]: {note}")
    return 1 if args.strict and rows[0].warnings else 0  # the rescaled row is a comparison
