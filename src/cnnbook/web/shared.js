/*
 * What the kernel playground and the model explorer share, in plain JavaScript: reading a
 * reader's own photo (picked, dropped or pasted; it stays in the browser), making
 * elements, and setting up every widget of a kind on the page. cnnbook.widgets puts this
 * script in front of each widget's own script, in the same <script> element; it defines
 * window.cnnbookShared once, however many widgets a page holds.
 */
(function () {
  "use strict";
  if (window.cnnbookShared) return;

  var MAX_FILE_BYTES = 50 * 1024 * 1024;

  /* A new `tag` element with an optional class and text. */
  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /* Read `file` as an image: onImage(image) once it is decoded, else onError(message),
   * a sentence that says what to do. */
  function readImageFile(file, onImage, onError) {
    if (!file.type || file.type.indexOf("image/") !== 0) {
      onError("\u201c" + file.name + "\u201d is not an image (" + (file.type || "unknown type") +
        "): choose a photo, such as a JPEG or PNG file.");
      return;
    }
    if (file.size > MAX_FILE_BYTES) {
      onError("\u201c" + file.name + "\u201d is larger than 50 MB: choose a smaller photo.");
      return;
    }
    var url = URL.createObjectURL(file);
    var image = new Image();
    image.onload = function () {
      URL.revokeObjectURL(url);
      onImage(image);
    };
    image.onerror = function () {
      URL.revokeObjectURL(url);
      onError("Your browser cannot read \u201c" + file.name + "\u201d as an image: try a JPEG " +
        "or PNG photo.");
    };
    image.src = url;
  }

  /* `image` drawn on a new canvas, shrunk (proportions kept) so that its longer side is at
   * most maxSide pixels, each side at least minSide: {canvas, context, width, height}. */
  function drawShrunk(image, maxSide, minSide) {
    var shrink = Math.min(1, maxSide / Math.max(image.naturalWidth, image.naturalHeight));
    var width = Math.max(minSide, Math.round(image.naturalWidth * shrink));
    var height = Math.max(minSide, Math.round(image.naturalHeight * shrink));
    var canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    var context = canvas.getContext("2d");
    context.imageSmoothingQuality = "high";
    context.drawImage(image, 0, 0, width, height);
    return { canvas: canvas, context: context, width: width, height: height };
  }

  /* A file dropped on `zone` or pasted anywhere in `root` goes to onFile(file); `zone`
   * carries draggingClass while a file is dragged over it. */
  function acceptDropAndPaste(zone, root, draggingClass, onFile) {
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add(draggingClass);
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () {
        zone.classList.remove(draggingClass);
      });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      var files = event.dataTransfer && event.dataTransfer.files;
      if (files && files[0]) onFile(files[0]);
    });
    root.addEventListener("paste", function (event) {
      var files = event.clipboardData && event.clipboardData.files;
      if (files && files[0]) {
        event.preventDefault();
        onFile(files[0]);
      }
    });
  }

  /* Call setup(root) on every element matching `selector` whose readyAttribute is not set,
   * first the one `script` sits in (it may live in a notebook output rather than in the
   * page's own HTML). Some notebook front ends run an output's script before they attach
   * the output to the page; then nothing is found yet, and this looks again for a few
   * seconds. Returns the function that sets up what is new on the page. */
  function setUpEvery(selector, readyAttribute, setup, script) {
    function setUpAll() {
      var roots = document.querySelectorAll(selector + ":not([" + readyAttribute + "])");
      for (var k = 0; k < roots.length; k++) setup(roots[k]);
      return roots.length;
    }
    var here = script && script.closest(selector);
    if (here) setup(here);
    if (setUpAll() === 0 && !here) {
      var tries = 0;
      var timer = setInterval(function () {
        if (setUpAll() > 0 || ++tries >= 50) clearInterval(timer);
      }, 100);
    }
    return setUpAll;
  }

  window.cnnbookShared = {
    element: element,
    readImageFile: readImageFile,
    drawShrunk: drawShrunk,
    acceptDropAndPaste: acceptDropAndPaste,
    setUpEvery: setUpEvery
  };
})();
