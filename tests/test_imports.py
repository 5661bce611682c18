"""What a fit leaves out of a process: modules whose import costs a first fit
time without doing any of its work."""

import subprocess
import sys

FIT = (
    "import sys, numpy as np, pandas as pd, aekit\n"
    "rng = np.random.default_rng(0)\n"
    "X = pd.DataFrame(rng.normal(size=(80, 3)), columns=list('abc'))\n"
    "X['d'] = rng.choice(['u', 'v'], 80)\n"
    "X = X.mask(rng.random(X.shape) < 0.2)\n"
    "aekit.Imputer(random_state=0).fit_transform(X)\n"
    "print(sorted(set(sys.argv[1:]) & set(sys.modules)))\n"
)


UNWANTED = [
    # torch.optim's first optimiser of a process imports it (over a second); the
    # training loop's own Adam does not
    "torch._dynamo",
    # torch.broadcast_shapes's first call imports it through torch's symbolic shapes
    # (about half a second); the default imputer's refinement rounds, which broadcast
    # a mask against an ensemble's rows, use aekit's own
    "sympy",
]


def test_the_default_imputers_fit_imports_none_of_the_unwanted_modules():
    """One fit in a fresh process; the modules of UNWANTED it imported (none)."""
    out = subprocess.run(
        [sys.executable, "-c", FIT, *UNWANTED], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"
