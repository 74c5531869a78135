"""How long ``aiida-grace report`` takes to write a page and a real headless Chromium to open it.

    verdi run benchmarks/report.py PK [PK ...] [--screenshots DIR]

For each process or model PK: seconds to write the page (database queries and graphviz), its size, and the page's
DOMContentLoaded and load times (ms, from the browser's navigation timing) in Chromium with host names
unresolvable (anything fetched from the network would fail and be counted: resources must be 0). The load average
(1, 5, 15 min) is printed beside each row. With ``--screenshots`` the opened pages are saved as PNGs.
Needs Debian's chromium and chromium-driver (scripts/install.sh installs them as root) and selenium.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1600,1000",
                     "--host-resolver-rules=MAP * ~NOTFOUND"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def main():
    from aiida import orm

    from aiida_grace.report import write_report

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pks", nargs="+")
    parser.add_argument("--screenshots", help="folder to save a screenshot of each opened page in")
    args = parser.parse_args(sys.argv[1:])
    folder = Path(tempfile.mkdtemp(prefix="report_bench_"))
    driver = chromium()
    print("| node | write (s) | size (MB) | DOMContentLoaded (ms) | load (ms) | resources fetched | load average |")
    print("|---|---|---|---|---|---|---|")
    for pk in args.pks:
        node = orm.load_node(pk)
        start = time.perf_counter()
        path = write_report(node, folder)
        written = time.perf_counter() - start
        driver.get(path.resolve().as_uri())
        ready, loaded = driver.execute_script(
            "const n = performance.getEntriesByType('navigation')[0]; return [n.domContentLoadedEventEnd, n.loadEventEnd]")
        fetched = driver.execute_script("return performance.getEntriesByType('resource').length")
        label = getattr(node, "process_label", None) or type(node).__name__
        print(f"| {label}<{node.pk}> | {written:.1f} | {path.stat().st_size / 1e6:.2f} | {ready:.0f} | {loaded:.0f} | "
              f"{fetched} | {', '.join(f'{x:.2f}' for x in os.getloadavg())} |", flush=True)
        if args.screenshots:
            Path(args.screenshots).mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(Path(args.screenshots) / f"report_{node.pk}.png"))
    driver.quit()


if __name__ == "__main__":
    main()
