/* The book's own page script: small fixes to the theme's navigation. */
"use strict";

/* sphinx-book-theme 1.3 under pydata-sphinx-theme 0.17 renders two .primary-toggle (and
   two .secondary-toggle) buttons: the hidden navbar's and the article header's. The
   themes bind their handlers to the first one only (pydata-sphinx-theme issue 2451), so
   the visible buttons did nothing. Forward a click on any other copy to the bound one. */
document.addEventListener("DOMContentLoaded", () => {
  for (const selector of [".primary-toggle", ".secondary-toggle"]) {
    const [bound, ...copies] = document.querySelectorAll(selector);
    for (const copy of copies) {
      copy.addEventListener("click", (event) => {
        event.preventDefault();
        event.stopPropagation();
        bound.click();
      });
    }
  }
});

/* A table, figure or displayed formula wider than the column scrolls in its own box; a
   keyboard reader must be able to reach that box to scroll it (tabindex), and hear what
   it is (role, label). */
const SCROLL_BOXES = ".bd-article table, .cnnbook-figure-scroll, .bd-article mjx-container[display]";

function markScrollBoxes() {
  for (const box of document.querySelectorAll(SCROLL_BOXES)) {
    if (box.scrollWidth > box.clientWidth + 1) {
      box.setAttribute("tabindex", "0");
      if (!box.hasAttribute("role") && box.tagName !== "TABLE") {
        const what = box.matches("mjx-container") ? "formula" : "figure";
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", `${what}, scrolls sideways`);
      }
    } else if (box.getAttribute("tabindex") === "0") {
      box.removeAttribute("tabindex");
    }
  }
}
window.addEventListener("load", markScrollBoxes);
window.addEventListener("resize", markScrollBoxes);
