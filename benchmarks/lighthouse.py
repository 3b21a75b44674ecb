"""Lighthouse scores of the built book: a chapter and a lab, as a phone sees them.

    python -m benchmarks.lighthouse                       # _build/html, the default pages
    python -m benchmarks.lighthouse --pages chapters/intro.html --runs 3
    python -m benchmarks.lighthouse --save benchmarks/results/lighthouse.txt

Lighthouse (pinned in benchmarks/lighthouse/package.json:
`npm ci --prefix benchmarks/lighthouse`) runs in mobile mode (a mid-range phone's
screen, simulated slow 4G and a 4x slower CPU) against the book served on the loopback
interface as a static host serves it (``tools/serve_book.py``: text compressed), with
Debian's Chromium (``CHROME_PATH``). Each page is audited ``--runs`` times; the report
gives every run's scores and the median. Goals: accessibility >= 95, performance >= 90;
the script exits 1 when a median misses one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from cnnbook import timing
from tools import serve_book  # run from the repository root, as a module (see above)

ROOT = Path(__file__).resolve().parents[1]

LIGHTHOUSE = ROOT / "benchmarks" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = "/usr/bin/chromium"
PAGES = ["chapters/edge_filters.html", "notebooks/02_edge_filters.html"]
GOALS = {"accessibility": 95, "performance": 90}
METRICS = [
    "first-contentful-paint",
    "largest-contentful-paint",
    "total-blocking-time",
    "cumulative-layout-shift",
    "speed-index",
    "total-byte-weight",
]


def audit(url: str) -> dict:
    """One Lighthouse run on ``url``: category scores (0-100) and a few metrics."""
    command = [
        str(LIGHTHOUSE),
        url,
        "--quiet",
        "--output=json",
        "--output-path=stdout",
        "--only-categories=performance,accessibility",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
    ]
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", CHROMIUM)}
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"lighthouse failed on {url}:\n{result.stderr[-3000:]}")
    report = json.loads(result.stdout)
    scores = {name: round(100 * c["score"]) for name, c in report["categories"].items()}
    metrics = {m: report["audits"][m]["numericValue"] for m in METRICS}
    failed = [
        a["id"]
        for a in report["audits"].values()
        if a.get("scoreDisplayMode") == "binary" and a.get("score") == 0
    ]
    return {
        "scores": scores,
        "metrics": metrics,
        "failed": failed,
        "version": report["lighthouseVersion"],
        "browser": report["environment"]["hostUserAgent"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--pages", nargs="+", default=PAGES)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--save", type=Path, help="also write the report to this file")
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        sys.exit(
            f"{LIGHTHOUSE} is missing: run `npm ci --prefix benchmarks/lighthouse` "
            "(Lighthouse is pinned there)"
        )

    load_before = timing.load_average()
    server, base = serve_book.start(args.folder)
    lines, ok, version, browser = [], True, "?", "?"
    try:
        for page in args.pages:
            runs, loads = [], []
            for _ in range(args.runs):
                loads.append(os.getloadavg()[0])  # other work slows the observed trace
                runs.append(audit(base + page))
            version, browser = runs[0]["version"], runs[0]["browser"]
            lines.append(f"{page}")
            lines.append(f"  load average before each run {[round(x, 1) for x in loads]}")
            for category, goal in GOALS.items():
                values = [r["scores"][category] for r in runs]
                median = statistics.median(values)
                ok &= median >= goal
                verdict = "ok" if median >= goal else f"BELOW the goal {goal}"
                lines.append(f"  {category:<14} median {median:5.1f}  runs {values}  {verdict}")
            for metric in METRICS:
                values = [r["metrics"][metric] for r in runs]
                lines.append(f"  {metric:<26} median {statistics.median(values):12,.1f}")
            failed = sorted({a for r in runs for a in r["failed"]})
            lines.append(f"  failed audits: {', '.join(failed) or 'none'}")
    finally:
        server.shutdown()
    header = [
        f"Lighthouse {version}, mobile mode (simulated slow 4G, 4x CPU slowdown), "
        f"{args.runs} runs per page, book served gzip-compressed on the loopback interface",
        timing.environment_line(packages=(), extra=[browser]),
        f"load average before the run: {load_before:.1f}",
    ]
    text = "\n".join(header + lines) + "\n"
    timing.publish_report(text, args.save)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
