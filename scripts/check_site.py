"""Builds the documentation site and opens pages of it in a real browser (headless Chromium):
fails if a page is empty, an image does not load, or the page has no navigation; writes one
screenshot per page.

    python scripts/check_site.py [--out site_check] [pages ...]

Needs Debian's ``chromium`` and ``chromium-driver`` and ``pip install selenium``; it says what is
missing instead of failing when they are not there. The strict build itself runs in CI
(``.ci/run``); this check is a separate command because the browser is a large install.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading

PAGES = ["", "getting-started/", "algorithms/dqn/", "benchmarks/", "benchmarks/dreamer/", "guides/checkpoints/"]


def missing_tools() -> list[str]:
    missing = [name for name in ("chromium", "chromedriver") if shutil.which(name) is None]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip)")
    return missing


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("pages", nargs="*", default=PAGES)
    p.add_argument("--out", default="site_check", help="directory for the screenshots")
    args = p.parse_args()
    missing = missing_tools()
    if missing:
        print(f"check_site: not run, missing {', '.join(missing)} (apt-get install chromium chromium-driver; pip install selenium)")
        return 0

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    site = tempfile.mkdtemp(prefix="site_")
    subprocess.run(["mkdocs", "build", "--strict", "--quiet", "--site-dir", site], cwd=root, check=True)
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # one line per page below is enough
            pass

    handler = functools.partial(Quiet, directory=site)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    os.makedirs(args.out, exist_ok=True)
    problems = []
    try:
        for page in args.pages:
            driver.get(base + page)
            driver.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "Promise.all(Array.from(document.images).map(i => i.complete ? 0 : new Promise(r => {i.onload = i.onerror = r;})))"
                ".then(() => done());"
            )
            broken = driver.execute_script(
                "return Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src);"
            )
            text = driver.execute_script("return document.querySelector('article') ? document.querySelector('article').innerText : '';")
            nav = driver.execute_script("return document.querySelectorAll('nav a').length;")
            shot = os.path.join(args.out, (page.strip("/").replace("/", "_") or "home") + ".png")
            driver.save_screenshot(shot)
            images = driver.execute_script("return document.images.length;")
            status = "ok"
            if broken:
                problems.append(f"{page or '/'}: broken images {broken}")
                status = "BROKEN IMAGES"
            if len(text.strip()) < 200:
                problems.append(f"{page or '/'}: the page is (nearly) empty ({len(text.strip())} characters)")
                status = "EMPTY"
            if nav == 0:
                problems.append(f"{page or '/'}: no navigation links")
                status = "NO NAVIGATION"
            print(f"{status:14s} /{page}  {len(text):6d} characters, {images} images, screenshot {shot}")
    finally:
        driver.quit()
        server.shutdown()
        shutil.rmtree(site, ignore_errors=True)
    for problem in problems:
        print(f"check_site: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
