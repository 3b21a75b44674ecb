// The book's style sheets, trimmed to the rules its pages can use (PurgeCSS, pinned in
// package.json): node _ext/purge_css.js BUILT_HTML_FOLDER. A rule stays when the names
// in its selector appear in a built page or in a script the pages load (so classes that
// scripts add, "show" or "toggle-hidden", stay). Rewrites each sheet of _static in place
// and prints {"path": [bytes before, bytes after], ...}.
"use strict";

const fs = require("fs");
const path = require("path");
const { PurgeCSS } = require(path.join(__dirname, "..", "node_modules", "purgecss"));

// Classes scripts build from pieces ("bs-" + "tooltip" + "-auto"), which no page or
// script spells out.
const SAFELIST = { standard: [/^bs-/, /^tooltip/, /^popover/] };

async function main() {
  const folder = process.argv[2];
  if (!folder || !fs.existsSync(path.join(folder, "_static"))) {
    throw new Error(`usage: node purge_css.js BUILT_HTML_FOLDER (no _static in ${folder})`);
  }
  const glob = (pattern) => path.join(folder, pattern).split(path.sep).join("/");
  const results = await new PurgeCSS().purge({
    content: [glob("**/*.html"), glob("_static/**/*.js")],
    css: [glob("_static/**/*.css")],
    safelist: SAFELIST,
    // custom properties, @keyframes and @font-face stay: cheap, and used indirectly
    variables: false,
    keyframes: false,
    fontFace: false,
  });
  const sizes = {};
  for (const { file, css } of results) {
    const before = fs.statSync(file).size;
    fs.writeFileSync(file, css);
    sizes[path.relative(folder, file)] = [before, Buffer.byteLength(css)];
  }
  process.stdout.write(JSON.stringify(sizes));
}

main().catch((error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
