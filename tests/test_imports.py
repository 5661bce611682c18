"""What a fit, and the command line's help, leave out of a process: modules whose
import costs time without doing any of their work."""

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


HELP = (
    "import sys\n"
    "from aekit.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print(code, sorted({'torch', 'sklearn'} & set(sys.modules)))\n"
)


def test_the_command_lines_help_loads_neither_torch_nor_scikit_learn():
    """``aekit --help`` in a fresh process: the help, and none of the library's
    heavy dependencies (importing them took about three seconds)."""
    out = subprocess.run(
        [sys.executable, "-c", HELP, "fit", "--help"], capture_output=True, text=True, check=True
    )
    assert "Train a model" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "0 []"


def test_the_first_use_of_a_name_imports_the_library():
    """``import aekit`` loads little; its first public name loads what it did
    before, subpackages included (``aekit.data.images`` without importing it)."""
    code = (
        "import sys, aekit\n"
        "before = 'torch' in sys.modules\n"
        "print(before, aekit.Imputer.__name__, aekit.data.images.mask_images.__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "Imputer", "mask_images"]


def test_the_package_offers_its_names_and_not_the_tools_of_its_lazy_import():
    """``dir(aekit)`` (an editor's completion) lists the public names, not the
    helpers the package's ``__init__`` imports to define them lazily."""
    import aekit

    public = [name for name in dir(aekit) if not name.startswith("_")]
    assert set(aekit.__all__) - {"__version__"} <= set(public)
    assert not {"TYPE_CHECKING", "importlib"} & set(public)
