"""Screenshot a run report with headless Chromium (proves the page renders offline).

Usage:
    python scripts/screenshot_report.py reports/<run_id>/report.html [--out report.png]
        [--window-size 1400,auto] [--chromium /usr/bin/chromium]

Chromium runs with networking features off and a throw-away profile, so the
screenshot shows exactly what an analyst sees when opening the file from disk.
The page is captured whole: with the default height ``auto`` the window grows
(doubling from 6,000 px up to :data:`MAX_HEIGHT`) until the bottom of the
capture is blank page background, and the blank tail is cropped.
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
START_HEIGHT = 6000
MAX_HEIGHT = 96_000
BLANK_ROWS = 40


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


def _blank_tail(png: Path) -> tuple[bool, int]:
    """Whether the last rows of a screenshot are one uniform colour, and where content ends."""
    from PIL import Image

    with Image.open(png) as image:
        rgb = image.convert("RGB")
        width, height = rgb.size
        background = rgb.getpixel((width - 1, height - 1))
        pixels = rgb.load()
        last = height - 1
        step = max(1, width // 200)
        while last >= 0 and all(pixels[x, last] == background for x in range(0, width, step)):
            last -= 1
    return height - 1 - last >= BLANK_ROWS, last + 1


def _crop(png: Path, height: int) -> None:
    from PIL import Image

    with Image.open(png) as image:
        cropped = image.crop((0, 0, image.size[0], max(1, height) + 16))
    cropped.save(png)


def screenshot(
    report: Path,
    out: Path,
    *,
    window_size: str = "1400,auto",
    chromium: str | None = None,
    timeout: float = 120.0,
) -> Path:
    """Render ``report`` in headless Chromium and save a PNG screenshot.

    Args:
        report: The HTML report file.
        out: Where to write the PNG.
        window_size: ``"WIDTH,HEIGHT"`` of the virtual window in CSS pixels; ``HEIGHT`` ``auto``
            captures the whole page, however tall.
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
    if not re.fullmatch(r"\d{2,5},(\d{2,6}|auto)", window_size):
        raise ValueError(f"window_size must look like '1400,auto' or '1400,6000'; received {window_size!r}")
    width, height = window_size.split(",")
    if height != "auto":
        return _capture(report, out, window_size, chromium, timeout)
    tall = START_HEIGHT
    while True:
        _capture(report, out, f"{width},{tall}", chromium, timeout)
        blank, content = _blank_tail(out)
        if blank or tall >= MAX_HEIGHT:
            if blank:
                _crop(out, content)
            return out
        tall = min(2 * tall, MAX_HEIGHT)


def _capture(report: Path, out: Path, window_size: str, chromium: str | None, timeout: float) -> Path:
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
    parser.add_argument("--window-size", default="1400,auto",
                        help="WIDTH,HEIGHT in CSS pixels; HEIGHT auto (default) captures the whole page")
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
