"""Screenshot a run report with headless Chromium (proves the page renders offline).

Usage:
    python scripts/screenshot_report.py reports/<run_id>/report.html [--out report.png]
        [--window-size 1400,6000] [--chromium /usr/bin/chromium]

Chromium runs with networking features off and a throw-away profile, so the
screenshot shows exactly what an analyst sees when opening the file from disk.
Install it on Debian/Ubuntu with ``apt-get install -y chromium``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def find_chromium(explicit: str | None = None) -> str:
    """Path of a Chromium/Chrome binary.

    Args:
        explicit: A path given by the user; used as is when set.

    Returns:
        The binary's path.

    Raises:
        FileNotFoundError: If no browser is found.
    """
    if explicit:
        return explicit
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    raise FileNotFoundError(
        "no Chromium found on PATH (looked for chromium, chromium-browser, google-chrome); "
        "install it with `apt-get install -y chromium` or pass --chromium /path/to/chrome"
    )


def screenshot(
    report: Path,
    out: Path,
    *,
    window_size: str = "1400,6000",
    chromium: str | None = None,
    timeout: float = 120.0,
) -> Path:
    """Render ``report`` in headless Chromium and save a PNG screenshot.

    Args:
        report: The HTML report file.
        out: Where to write the PNG.
        window_size: ``"WIDTH,HEIGHT"`` of the virtual window in CSS pixels.
        chromium: Browser binary; found on PATH when ``None``.
        timeout: Seconds before the browser is abandoned.

    Returns:
        ``out``.

    Raises:
        FileNotFoundError: If the report or the browser does not exist.
        ValueError: If ``window_size`` is not ``"WIDTH,HEIGHT"``.
        RuntimeError: If Chromium did not produce a PNG.
    """
    report = Path(report).resolve()
    if not report.is_file():
        raise FileNotFoundError(f"report not found: {report}; render it first with render_report()")
    if not re.fullmatch(r"\d{2,5},\d{2,5}", window_size):
        raise ValueError(f"window_size must look like '1400,6000'; received {window_size!r}")
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    browser = find_chromium(chromium)
    with tempfile.TemporaryDirectory(prefix="qscen-chromium-") as profile:
        command = [
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
            f"--screenshot={out}",
            f"--window-size={window_size}",
            report.as_uri(),
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if not out.is_file() or out.read_bytes()[:8] != PNG_SIGNATURE:
        raise RuntimeError(
            f"Chromium ({browser}) wrote no PNG to {out} (exit code {result.returncode}); stderr:\n"
            f"{result.stderr[-2000:]}"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="path of report.html")
    parser.add_argument("--out", type=Path, default=None, help="PNG to write (default: beside the report)")
    parser.add_argument("--window-size", default="1400,6000", help="WIDTH,HEIGHT in CSS pixels")
    parser.add_argument("--chromium", default=None, help="browser binary (default: found on PATH)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before giving up")
    args = parser.parse_args(argv)
    out = args.out or args.report.with_suffix(".png")
    path = screenshot(
        args.report, out, window_size=args.window_size, chromium=args.chromium, timeout=args.timeout
    )
    print(f"screenshot written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
