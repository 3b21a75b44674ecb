"""How fast is the model explorer in the browser, and how much does it add to a page?

    python benchmarks/explorer_speed.py
    python benchmarks/explorer_speed.py --runs 500 --save benchmarks/results/explorer_speed.txt

Opens ``cnnbook.widgets.model_explorer`` in Debian's headless Chromium (as the tests do)
and measures:

- the forward pass of the MNIST convnet (the lab's network, trained briefly on real
  digits so that its ReLUs are as sparse as a trained network's), on real test digits,
  a different one each run: median and 90th percentile over ``--runs`` runs (goal: a
  median of at most 30 ms);
- a whole update as the reader sees it: the drawing centred and scaled, the forward
  pass, ten bars, every feature map (of the strokes drawn below);
- redrawing while drawing: the mouse draws strokes for a few seconds, and we count the
  explorer's updates against the browser's animation frames over the same time (an
  update is scheduled with requestAnimationFrame, so one per frame is the most there
  can be);
- rung 6 of the cats-vs-dogs ladder at the lab's photo size: one forward pass;
- the bytes each model's weights add to a page (packed, and as text), and the
  whole widget.
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from cnnbook import timing

CHROMIUM = "/usr/bin/chromium"
READY = '.cnnbook-explorer[data-cnnbook-ready="yes"]'
PHOTO_SHAPE = (94, 125)  # the lab's: the most common photo shape, 375 x 500, a quarter a side

TIME_FORWARD = """(root, digits) => {
  const times = [];
  for (let i = 0; i < digits.length; i++) {
    const x = Float32Array.from(digits[i]);
    const start = performance.now();
    root.cnnbookExplorer.predict(x);
    times.push(performance.now() - start);
  }
  return times;
}"""
TIME_UPDATE = """(root, runs) => {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    root.cnnbookExplorer.update();
    times.push(performance.now() - start);
  }
  return times;
}"""
# Draw in the page: pointer events every 4 ms (250 a second, faster than a mouse reports),
# while counting the browser's animation frames and the longest gap between two.
DRAW = """async ([root, seconds]) => {
  const canvas = root.querySelector("canvas.cnnbook-explorer-draw");
  const box = canvas.getBoundingClientRect();
  const fire = (type, x, y) => canvas.dispatchEvent(new PointerEvent(type, {
    clientX: box.left + x * box.width, clientY: box.top + y * box.height, pointerId: 1,
    bubbles: true, buttons: 1}));
  const before = Number(root.getAttribute("data-updates"));
  let frames = 0, worstGap = 0, last = performance.now(), running = true;
  const tick = (now) => {
    frames++; worstGap = Math.max(worstGap, now - last); last = now;
    if (running) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  const start = performance.now();
  let moves = 0;
  fire("pointerdown", 0.3, 0.3);
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      moves++;
      const t = moves / 60;
      fire("pointermove", 0.2 + 0.6 * Math.abs((t % 2) - 1), 0.2 + 0.6 * (moves % 97) / 97);
      if (performance.now() - start > seconds * 1000) { clearInterval(timer); resolve(); }
    }, 4);
  });
  fire("pointerup", 0.5, 0.5);
  running = false;
  return {seconds: (performance.now() - start) / 1000, moves: moves, frames: frames,
          worstGap: worstGap, updates: Number(root.getAttribute("data-updates")) - before};
}"""


def train_mnist_model(num_digits: int):
    from cnnbook import mnist
    from cnnbook.config import set_seed
    from cnnbook.data import load_mnist

    (train_images, train_labels), (test_images, _) = load_mnist()
    set_seed(0)
    model = mnist.build_mnist_convnet()
    mnist.train(
        model,
        mnist.preprocess(train_images[:num_digits]),
        train_labels[:num_digits],
        num_epochs=1,
        verbose=0,
    )
    return model, mnist.preprocess(test_images)


def open_widget(browser, snippet: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_content("<!doctype html><html><body>" + snippet + "</body></html>")
    page.wait_for_selector(READY, timeout=60_000)
    return page, page.locator(".cnnbook-explorer")


def draw_for(page, root, seconds: float) -> dict:
    """Draw zig-zag strokes for ``seconds``; count updates and animation frames."""
    return page.evaluate(DRAW, [root.element_handle(), seconds])


def measure(runs: int, draw_seconds: float, train_digits: int) -> dict:
    import keras
    import tensorflow as tf
    from playwright.sync_api import sync_playwright

    from cnnbook import explorer, ladder, widgets

    model, test_inputs = train_mnist_model(train_digits)
    mnist_snippet = widgets.model_explorer(model).data
    mnist_description, mnist_blob = explorer.describe_model(model)
    rung_six = ladder.build_modern(PHOTO_SHAPE + (3,))
    rung_snippet = widgets.model_explorer(rung_six, class_names=("cat", "dog")).data
    rung_description, rung_blob = explorer.describe_model(rung_six)
    digits = test_inputs[:runs].reshape(runs, -1).tolist()
    result = {
        "load_average": timing.load_average(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        result["chromium"] = browser.version
        page, root = open_widget(browser, mnist_snippet)
        root.evaluate(TIME_FORWARD, digits[: min(20, runs)])  # warm up the JIT
        result["forward_ms"] = root.evaluate(TIME_FORWARD, digits)
        result["drawing"] = draw_for(page, root, draw_seconds)
        # then whole updates of what was drawn (an empty pad would be quicker: all zeros)
        result["update_ms"] = root.evaluate(TIME_UPDATE, max(20, runs // 5))
        page.close()
        page, root = open_widget(browser, rung_snippet)
        photo = np.random.default_rng(0).random((5,) + PHOTO_SHAPE + (3,)).astype(np.float32)
        flat = photo.reshape(5, -1).tolist()
        root.evaluate(TIME_FORWARD, flat[:1])
        result["rung_six_ms"] = root.evaluate(TIME_FORWARD, flat)
        page.close()
        browser.close()
    result["sizes"] = {
        "MNIST convnet": (
            model.count_params(),
            mnist_description["encoding"],
            len(mnist_blob),
            len(explorer.encode_85(mnist_blob)),
            len(mnist_snippet),
        ),
        "rung 6": (
            rung_six.count_params(),
            rung_description["encoding"],
            len(rung_blob),
            len(explorer.encode_85(rung_blob)),
            len(rung_snippet),
        ),
    }
    return result


def report(result: dict, runs: int, train_digits: int) -> str:
    forward = result["forward_ms"]
    update = result["update_ms"]
    drawing = result["drawing"]
    lines = [
        "Model explorer in headless Chromium: forward pass, redrawing, page weight",
        timing.environment_line(extra=[f"Chromium {result['chromium']} (headless, --disable-gpu)"]),
        (
            f"load average before the run: {result['load_average']:.1f} "
            "(other processes share the CPUs: timings of a busy machine)"
        ),
        "",
        (
            f"MNIST convnet (trained 1 epoch on {train_digits} digits), forward pass on "
            f"{runs} test digits, one at a time:"
        ),
        (
            f"  median {statistics.median(forward):.2f} ms, 90th percentile "
            f"{np.percentile(forward, 90):.2f} ms, fastest {min(forward):.2f} ms   "
            "(goal: at most 30 ms)"
        ),
        (
            f"whole update (forward pass, bars, {'every'} feature map), {len(update)} runs: "
            f"median {statistics.median(update):.2f} ms, 90th percentile "
            f"{np.percentile(update, 90):.2f} ms"
        ),
        (
            f"drawing for {drawing['seconds']:.1f} s ({drawing['moves']} pointer moves): "
            f"{drawing['updates']} updates in {drawing['frames']} animation frames = "
            f"{drawing['updates'] / drawing['seconds']:.0f} updates/s, "
            f"{drawing['frames'] / drawing['seconds']:.0f} frames/s, longest gap between "
            f"frames {drawing['worstGap']:.0f} ms"
        ),
        (
            f"rung 6 at {PHOTO_SHAPE[0]} x {PHOTO_SHAPE[1]} x 3, one photo: median "
            f"{statistics.median(result['rung_six_ms']):.0f} ms over "
            f"{len(result['rung_six_ms'])} runs"
        ),
        "",
        (
            f"{'model':16s} {'weights':>9s} {'encoding':>9s} {'packed kB':>10s} "
            f"{'text kB':>10s} {'widget kB':>10s}"
        ),
    ]
    for name, (count, encoding, packed, text, snippet) in result["sizes"].items():
        lines.append(
            f"{name:16s} {count:9,d} {encoding:>9s} {packed / 1e3:10.1f} "
            f"{text / 1e3:10.1f} {snippet / 1e3:10.1f}"
        )
    lines.append(
        "(kB = 1000 bytes; the widget also holds explorer.js and explorer.css, and "
        "examples when given)"
    )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=300, help="forward passes to time")
    parser.add_argument("--draw-seconds", type=float, default=5.0)
    parser.add_argument("--train-digits", type=int, default=4000)
    parser.add_argument("--save", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    result = measure(args.runs, args.draw_seconds, args.train_digits)
    text = report(result, args.runs, args.train_digits)
    timing.publish_report(text, args.save)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
