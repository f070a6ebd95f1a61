"""The application layer of diffusion-proofs: the ``diffusion-proofs`` command (:mod:`.cli`), its
verbs (verify, bench, check, conformance, health, errata, report), the report and its plots, and
:mod:`.testing` (the pytest plugin and Hypothesis strategies). Nothing in :mod:`proofs` or
:mod:`montecarlo` imports this package."""
