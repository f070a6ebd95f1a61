"""``python -m diffusion_proofs``: the same command as ``diffusion-proofs``."""
import sys

from .cli import main

sys.exit(main())
