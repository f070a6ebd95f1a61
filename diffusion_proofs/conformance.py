"""``diffusion-proofs conformance`` and ``diffusion-proofs health``: a scheduler against the identities,
and the health of a schedule."""
from __future__ import annotations

import argparse
import json
import sys

from montecarlo.conformance import SpecError, as_schedule, check_scheduler, lin_et_al_figure, resolve_spec, schedule_health
from montecarlo.conformance.checker import _DTYPES
from montecarlo.conformance.health import NAMED_SCHEDULES
from montecarlo.schedules import Schedule


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``diffusion-proofs conformance``."""
    parser.description = ("Check a scheduler against the proved identities: abar product, add_noise (forward "
                          "marginal), step mean (posterior / posterior_eps) and noise, v conversions, DDIM eta.")
    parser.epilog = ("example: diffusion-proofs conformance diffusers:DDPMScheduler --config "
                     "'{\"beta_schedule\": \"linear\", \"num_train_timesteps\": 100}'   (or mymodule:make_sampler). "
                     "Timesteps: diffusers k = paper t - 1. Exit 0 pass, 1 a check failed, 2 bad input.")
    parser.add_argument("scheduler", help="module:factory, e.g. diffusers:DDPMScheduler (imported with importlib, "
                        "called with --config as keyword arguments)")
    parser.add_argument("--config", default="{}", help="JSON object of keyword arguments for the factory")
    parser.add_argument("--dtype", default="float32", choices=sorted(_DTYPES), help="probe dtype (default float32)")
    parser.add_argument("--alpha", type=float, default=1e-6, help="family-wise false-alarm rate of noise tests")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timesteps", default=None, help="comma-separated paper t's (1-based) to probe; default all")
    parser.add_argument("--num-inference-steps", type=int, default=None, help="steps of the strided grids")
    parser.add_argument("--spacings", default=None, help="comma list of leading,trailing,linspace or 'all' "
                        "(default: the configured timestep_spacing)")
    parser.add_argument("--limit", type=int, default=40, help="rows of the table (default 40)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run_cli(args: argparse.Namespace) -> int:
    """Run ``check_scheduler`` on the resolved spec; print a table (or JSON); return 0/1/2."""
    try:
        sched = resolve_spec(args.scheduler, args.config)
        ts = None
        if args.timesteps:
            try:
                ts = [int(v) for v in args.timesteps.split(",") if v.strip()]
            except ValueError as exc:
                raise SpecError(f"--timesteps must be comma-separated integers, got {args.timesteps!r}") from exc
        spacings = args.spacings
        if spacings and spacings != "all":
            spacings = [s.strip() for s in spacings.split(",") if s.strip()]
        report = check_scheduler(sched, alpha=args.alpha, seed=args.seed, timesteps=ts, dtype=args.dtype,
                                 num_inference_steps=args.num_inference_steps, spacings=spacings)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.format_table(limit=args.limit))
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
    parser.add_argument("--T", type=int, default=1000, help="steps for a named schedule (default 1000)")
    parser.add_argument("--beta-start", type=float, default=None, help="named linear/scaled_linear/sigmoid schedules")
    parser.add_argument("--beta-end", type=float, default=None)
    parser.add_argument("--config", default="{}", help="JSON object of keyword arguments for module:factory")
    parser.add_argument("--x0-second-moment", type=float, default=1.0, help="E[x_0^2] in L_T (default 1)")
    parser.add_argument("--dims", type=int, default=None, help="also print L_T for this many dimensions")
    parser.add_argument("--figure", default=None, help="save Lin et al.'s sqrt(abar)/log-SNR comparison PNG here")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the schedule itself (not its rescale) has a warning")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _named(args) -> Schedule:
    name = "scaled_linear" if args.schedule == "sd" else args.schedule
    kwargs = {}
    if args.beta_start is not None:
        kwargs["beta_start"] = args.beta_start
    if args.beta_end is not None:
        kwargs["beta_end"] = args.beta_end
    if kwargs and name == "cosine":
        raise ValueError("--beta-start/--beta-end do not apply to the cosine schedule")
    return getattr(Schedule, name)(args.T, **kwargs)


def run_health_cli(args: argparse.Namespace) -> int:
    """Print the health of the schedule and of its zero-terminal-SNR rescale; exit 0 (1 with
    --strict and a warning, 2 on bad input)."""
    try:
        if args.schedule in NAMED_SCHEDULES:
            sched = _named(args)
        else:
            if ":" not in args.schedule:
                raise ValueError(f"unknown schedule {args.schedule!r}: use one of {', '.join(NAMED_SCHEDULES)}, "
                                 "or module:factory (e.g. diffusers:DDPMScheduler)")
            try:
                sched = as_schedule(resolve_spec(args.schedule, args.config))
            except SpecError as exc:
                raise ValueError(str(exc)) from exc
        rows = [schedule_health(sched, x0_second_moment=args.x0_second_moment)]
        if sched.T >= 2 and rows[0].alpha_bar_T > 0:
            rows.append(schedule_health(sched.rescale_zero_terminal_snr(), x0_second_moment=args.x0_second_moment))
        if args.dims is not None and args.dims < 1:
            raise ValueError(f"--dims must be a positive integer, got {args.dims}")
        if args.figure:
            lin_et_al_figure(sched.T if args.schedule in ("sd", "scaled_linear") else 1000, args.figure)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        out = [r.to_dict() | ({"prior_kl_total": r.prior_kl(args.dims), "dims": args.dims} if args.dims else {})
               for r in rows]
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
    return 1 if args.strict and rows[0].warnings else 0  # the rescaled row is a comparison
