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

// The sheets to trim: every one in _static but the bundles an earlier build made of them
// (_ext/cnnbook_sphinx.py, "cnnbook-<hash>.css"), which pages of that build still use.
const BUNDLE = /^cnnbook-[0-9a-f]{16}\.css$/;

function styleSheets(folder) {
  return fs
    .readdirSync(folder, { recursive: true })
    .filter((name) => name.endsWith(".css") && !BUNDLE.test(path.basename(name)))
    .map((name) => path.join(folder, name).split(path.sep).join("/"));
}

async function main() {
  const folder = process.argv[2];
  if (!folder || !fs.existsSync(path.join(folder, "_static"))) {
    throw new Error(`usage: node purge_css.js BUILT_HTML_FOLDER (no _static in ${folder})`);
  }
  const glob = (pattern) => path.join(folder, pattern).split(path.sep).join("/");
  const results = await new PurgeCSS().purge({
    content: [glob("**/*.html"), glob("_static/**/*.js")],
    css: styleSheets(path.join(folder, "_static")),
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
