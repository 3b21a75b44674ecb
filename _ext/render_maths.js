// The book's maths, typeset once when the book is built (MathJax, pinned in package.json).
// Reads, as JSON on stdin, the formulas of each page:
//     [[{"tex": "...", "display": true|false}, ...], ...]
// and writes {"css": "...", "pages": [{"maths": ["<mjx-container ...>", ...],
// "glyphs": "<svg ...>"}, ...]}. Each formula becomes an SVG (no web fonts to fetch) with
// the MathML a screen reader reads beside it; the glyphs a page's formulas share are drawn
// once per page (``glyphs``, a hidden SVG the page carries). So a page needs no script to
// show its maths. A TeX error or an unknown macro stops the build, naming the formula.
"use strict";

const path = require("path");

const MATHJAX = path.join(__dirname, "..", "node_modules", "mathjax", "es5", "node-main.js");

function readStdin() {
  return new Promise((resolve, reject) => {
    let text = "";
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (chunk) => (text += chunk));
    process.stdin.on("end", () => resolve(text));
    process.stdin.on("error", reject);
  });
}

async function main() {
  const pages = JSON.parse(await readStdin());
  const MathJax = await require(MATHJAX).init({
    loader: { load: ["input/tex", "output/svg", "a11y/assistive-mml"] },
    // an unknown macro or a TeX error throws, where MathJax would draw it in red
    tex: {
      packages: { "[-]": ["noundefined"] },
      formatError: (jax, error) => {
        throw error;
      },
    },
    svg: { fontCache: "global" },
  });
  const adaptor = MathJax.startup.adaptor;
  const fontCache = MathJax.startup.output.fontCache;
  const typeset = pages.map((formulas) => {
    fontCache.clearCache();
    const maths = formulas.map(({ tex, display }) => {
      try {
        return adaptor.outerHTML(MathJax.tex2svg(tex, { display }));
      } catch (error) {
        throw new Error(`TeX error in ${JSON.stringify(tex)}: ${error.message}`);
      }
    });
    const glyphs =
      '<svg id="MJX-SVG-global-cache" style="display: none" aria-hidden="true">' +
      adaptor.outerHTML(fontCache.getCache()) +
      "</svg>";
    return { maths, glyphs };
  });
  const css = adaptor.textContent(MathJax.svgStylesheet());
  process.stdout.write(JSON.stringify({ css, pages: typeset }));
}

main().catch((error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
