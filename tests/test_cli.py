"""The command line, by exit code and output."""

import subprocess
import sys

import pytest

from aekit import __version__
from aekit.cli import main


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"aekit {__version__}"


@pytest.mark.parametrize("argv", [["--help"], ["demo", "--help"]])
def test_help(argv, capsys):
    assert main(argv) == 0
    assert "Usage" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error(capsys):
    assert main(["frobnicate"]) == 2


def test_demo_end_to_end(tmp_path, capsys):
    assert main(["demo", "--fast", "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in ("PCA", "AE", "DAE", "VAE", "t-VAE"):
        assert f"│ {name} " in out
    png = tmp_path / "reconstructions.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_demo_bad_output_dir_exits_2(tmp_path, capsys):
    target = tmp_path / "a-file"
    target.write_text("x")
    assert main(["demo", "--fast", "-o", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("aekit: error:")


def test_python_m_alias():
    done = subprocess.run(
        [sys.executable, "-m", "aekit", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == f"aekit {__version__}"
