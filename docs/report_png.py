"""Make docs/report.png, the README's picture of report.html: the 3D view and one figure of a run's page.

The picture in the repo is of the interface example (a Cu crystal slab in its melt, four states):

    gdynet example interface --quick --out /tmp/iface -q
    python docs/report_png.py /tmp/iface/run docs/report.png --figure profile

It opens RUN/report.html in headless Chromium (tests/browser.py, the driver of the browser tests),
waits until everything is drawn, and stacks the page's header, the 3D view and the chosen figure
(``timescales``, ``profile``, ``rdf``, ...), scaled to ``--width`` pixels, as a palette PNG (small).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def region(browser, selector: str) -> dict[str, float]:
    """The page box (CSS pixels) of the first element that matches ``selector``."""
    return browser.evaluate(f"""(function () {{ const r = document.querySelector({selector!r}).getBoundingClientRect();
        return {{x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height}}; }})()""")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path, help="run folder with report.html")
    parser.add_argument("out", type=Path, help="PNG to write")
    parser.add_argument("--figure", default="profile", help="figure shown under the 3D view (default: profile)")
    parser.add_argument("--width", type=int, default=1000, help="width of the PNG in pixels")
    args = parser.parse_args()
    from browser import Browser, find_chromium
    from PIL import Image

    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    with Browser(chromium, width=1280, height=900, timeout=300) as browser:
        browser.open((args.run / "report.html").resolve().as_uri())
        browser.wait_for("window.gdynetReady === true")
        parts = [browser.screenshot(region(browser, sel)) for sel in ("header", "#structure", f"#fig-{args.figure}")]
        if browser.errors():
            raise SystemExit(f"errors on the page: {browser.errors()}")
    width = max(p.shape[1] for p in parts)
    parts = [np.pad(p, ((0, 0), (0, width - p.shape[1]), (0, 0)), constant_values=255) for p in parts]
    image = Image.fromarray(np.concatenate(parts))
    image = image.resize((args.width, round(image.height * args.width / image.width)), Image.LANCZOS)
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(args.out, optimize=True)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
