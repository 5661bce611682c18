"""Open an HTML report in headless Chromium, save a screenshot, check it shows something.

    python scripts/report_check.py REPORT.html SCREENSHOT.png

Used by ``make report-check``. Chromium runs with no network features (this
machine has none) and a fresh, temporary profile.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib.image


def screenshot(report: Path, out: Path, *, width: int = 1100, height: int = 3000) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("report-check: chromium is not installed (make report-check installs it)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--screenshot={out.resolve()}",
                report.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def main(argv: list[str]) -> int:
    report, out = Path(argv[0]), Path(argv[1])
    if not report.is_file():
        sys.exit(f"report-check: {report} does not exist")
    out.parent.mkdir(parents=True, exist_ok=True)
    screenshot(report, out)
    pixels = matplotlib.image.imread(out)[..., :3]
    drawn = float((pixels < 0.9).mean())
    if pixels.std() < 0.05 or drawn < 0.02:
        sys.exit(f"report-check: the screenshot {out} looks blank ({drawn:.1%} of it drawn)")
    print(f"report-check: {report} rendered in Chromium; screenshot {out} ({drawn:.1%} drawn)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
