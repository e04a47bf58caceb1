"""Take the README's pictures of the dashboard and of one HTML report from a real run.

    python assets/make_screenshots.py            # writes assets/screenshots/*.png (about 1-2 minutes)
    python assets/make_screenshots.py --daily 2  # fewer daily runs after the first full run
    python assets/make_screenshots.py --outputs outputs  # photograph an existing archive, run nothing

In a temporary folder with its own embedded store (``IRIS_STORE``; ``HOPSWORKS_API_KEY`` removed from the
children's environment, so nothing leaves the machine), this runs ``python runner.py`` once and then a few
``python runner.py --daily`` so the history, monitoring and charts have content. It then opens
``outputs/index.html`` over ``file://`` in headless Debian Chromium (driven by Playwright, the same launch
flags as the browser tests) and saves:

- ``dashboard.png``: the dashboard at desktop width (1280 px), from the top down to the end of the charts;
- ``dashboard-phone.png``: the same page at phone width (390 px), down to the monitoring card;
- ``report.png``: the training pipeline's HTML report, its header (status, parameters, slowest cells)
  and first cells with their durations;
- ``outline.json``: the dashboard's card headings and labels (``tests/browser.page_outline``), which a
  test compares with the page the code writes now.

The PNGs are taken at device scale 1 and re-encoded as palette PNGs with Pillow to keep them small.
Re-running overwrites them; the temporary folder is removed unless ``--keep`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

_HERE = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_HERE), str(_HERE / "tests")]  # serverless_iris (installed or not) and the browser tests
from browser import CHROMIUM, CHROMIUM_ARGS, page_outline  # noqa: E402  (the browser tests' launch flags)

from serverless_iris.backend import KEY_ENV  # noqa: E402
from serverless_iris.paths import ASSETS_DIR, BACKEND_ENV, REPO_ROOT, STORE_ENV  # noqa: E402

SHOTS = ASSETS_DIR / "screenshots"
OUTLINE = SHOTS / "outline.json"  # the photographed page's cards (tests/test_screenshots.py compares)


def run_pipelines(work: Path, daily_runs: int) -> Path:
    """Run the pipelines into ``work`` (its own store and outputs) and return the outputs folder."""
    outputs = work / "outputs"
    env = {k: v for k, v in os.environ.items() if k not in (KEY_ENV, BACKEND_ENV)}
    env[STORE_ENV] = str(work / "store")
    env[BACKEND_ENV] = "local"
    commands = [[]] + [["--daily"]] * daily_runs
    for extra in commands:
        argv = [sys.executable, "runner.py", *extra, "--outputs", str(outputs), "-q"]
        print("$", " ".join(argv[1:]), flush=True)
        subprocess.run(argv, cwd=REPO_ROOT, env=env, check=True)
    return outputs


def training_report(outputs: Path) -> Path:
    """The newest training pipeline HTML report (the full one, with code) in the run archive."""
    reports = sorted(
        path
        for path in (outputs / "runs").glob("*/*training*.html")
        if "results" not in path.name and "no-code" not in path.name
    )
    if not reports:
        raise SystemExit(f"no training report under {outputs / 'runs'}")
    return reports[-1]


def shrink(path: Path) -> None:
    """Re-encode a screenshot as an optimised 256-colour PNG (flat UI colours survive this well)."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=0)
    small.save(path, optimize=True)


def screenshot(page_url: str, target: Path, *, width: int, until: str, below: int, profile: Path) -> None:
    """Open ``page_url`` at ``width`` and save the page from its top to ``below`` pixels under the bottom
    of the element ``until`` (a CSS selector), so the picture ends at a card's edge, not mid-sentence."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=[*CHROMIUM_ARGS, "--hide-scrollbars"],
            viewport={"width": width, "height": 800},
            device_scale_factor=1,
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.goto(page_url, wait_until="load")
            page.evaluate("document.fonts.ready")
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if overflow > 0:
                print(f"warning: {target.name} scrolls sideways by {overflow}px", file=sys.stderr)
            full = page.evaluate("document.documentElement.scrollHeight")
            box = page.locator(until).first.bounding_box()
            if box is None:
                raise SystemExit(f"{page_url} has no visible {until!r} to end the picture at")
            bottom = page.evaluate("window.scrollY") + box["y"] + box["height"] + below
            clip = {"x": 0, "y": 0, "width": width, "height": min(round(bottom), full)}
            page.screenshot(path=str(target), clip=clip, full_page=True, animations="disabled")
        finally:
            context.close()
    shrink(target)
    print(f"{target.relative_to(REPO_ROOT)}: {target.stat().st_size // 1024} KiB", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--daily", type=int, default=3, metavar="N", help="daily runs after the first (3)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and print it")
    parser.add_argument(
        "--outputs", type=Path, metavar="DIR", help="photograph this existing run archive instead of running"
    )
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: install Debian's chromium (sudo apt-get install chromium)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="iris-screenshots-"))
    try:
        outputs = args.outputs.resolve() if args.outputs else run_pipelines(work, args.daily)
        index = (outputs / "index.html").as_uri()
        report = training_report(outputs).as_uri()
        shots = (  # file, page, width, the element the picture ends under, pixels below it
            ("dashboard.png", index, 1280, ".figures", 8),
            ("dashboard-phone.png", index, 390, "#monitoring", 16),
            ("report.png", report, 1280, ".ir-header", 420),
        )
        for name, url, width, until, below in shots:
            screenshot(url, SHOTS / name, width=width, until=until, below=below, profile=work / "chromium")
        outline = page_outline((outputs / "index.html").read_text(encoding="utf-8"))
        OUTLINE.write_text(json.dumps(outline, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
