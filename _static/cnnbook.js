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

/* A table or figure wider than the column scrolls in its own box; a keyboard reader must
   be able to reach that box to scroll it (tabindex), and hear what it is (role, label). */
function markScrollBoxes() {
  for (const box of document.querySelectorAll(".bd-article table, .cnnbook-figure-scroll")) {
    if (box.scrollWidth > box.clientWidth + 1) {
      box.setAttribute("tabindex", "0");
      if (!box.hasAttribute("role") && box.tagName !== "TABLE") {
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", "figure, scrolls sideways");
      }
    } else if (box.getAttribute("tabindex") === "0") {
      box.removeAttribute("tabindex");
    }
  }
}
window.addEventListener("load", markScrollBoxes);
window.addEventListener("resize", markScrollBoxes);
