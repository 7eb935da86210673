"""Regenerate the screenshots of the performance review in docs/images/ (``make screenshots``).

Renders page 05 of the bundled sample (``data/sample``) for its latest month in English and in
Chinese into a temporary folder, and photographs the top of each page with the distribution's
headless Chromium (Playwright, never ``playwright install``) at 1280 px wide:
``docs/images/performance-review-en.png`` and ``performance-review-zh.png``. Not run by CI: it
needs Chromium and takes a few minutes.

    .venv/bin/python docs/screenshots.py [--lang en zh] [--height 1600] [--chromium PATH]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from cpm_analysis.data import sample_dir
from cpm_analysis.report.runner import run_report

IMAGES = Path(__file__).resolve().parent / "images"
PAGE = "05_performance_review"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def main() -> None:
    """Render page 05 in English and Chinese and photograph the top of each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=1600, help="pixels of the page shown")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--lang", nargs="+", default=["en", "zh"], help="languages to shoot")
    parser.add_argument("--chromium", default=os.environ.get("CPM_CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="cpm-shots-") as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, args=FLAGS, headless=True)
        for lang in args.lang:
            out = Path(tmp) / lang
            outcome = run_report(data=sample_dir(), out=out, only=[PAGE], lang=lang, progress=False)
            if outcome.exit_code != 0:
                raise SystemExit(f"{lang}: the report failed: {[p.error for p in outcome.periods]}")
            (page_file,) = sorted(out.glob(f"*/{PAGE}.html"))
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            page.goto(page_file.as_uri(), wait_until="load")
            target = IMAGES / f"performance-review-{lang}.png"
            page.screenshot(path=str(target), full_page=False)
            page.close()
            print(f"{target} ({target.stat().st_size // 1024} KB)")
        browser.close()


if __name__ == "__main__":
    main()
