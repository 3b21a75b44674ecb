/*
 * The kernel playground of the edge-filter chapter, in plain JavaScript (no library).
 *
 * cnnbook.widgets.kernel_playground() writes, for each playground, a
 * <div class="cnnbook-playground"> holding the photo (an <img> with a data: URI), its
 * preset kernels as JSON (from cnnbook.kernels.PRESETS, the one source of the values)
 * and this script. The script turns every such div on the page that is not set up yet
 * into a live playground, so several playgrounds on one page (or this script loaded
 * twice) are fine: nothing here uses a fixed element id.
 *
 * Conventions, the same as cnnbook.ops.conv2d(image, kernel, padding="same"):
 *   - the photo is grey, each pixel a value in [0, 1] (the PNG byte / 255);
 *   - cross-correlation: out[r][c] = sum_ij kernel[i][j] * image[r + i - 1][c + j - 1],
 *     the kernel laid on the image as printed, not flipped;
 *   - "same" zero padding: the image is surrounded by one ring of zeros, so the output
 *     has the size of the photo.
 * The reader may also pick, drop or paste a photo of their own: it is read in the
 * browser, shrunk to at most data.maxUploadSide pixels a side, and made grey.
 * Display mapping, the same as cnnbook.widgets.to_display_bytes(): the absolute value of
 * the output, clipped to [0, 1], times 255, rounded half up. Black is 0, white is 1 or more.
 */
(function () {
  "use strict";

  var element = window.cnnbookShared.element; // web/shared.js, inlined before this

  var READY = "data-cnnbook-ready";

  /* Cross-correlation of a grey image (Float64Array, row-major) with a 3x3 kernel
   * (array of 3 rows of 3 numbers), zero padding, output of the same size. */
  function convolveSame(pixels, width, height, kernel) {
    var out = new Float64Array(width * height);
    for (var r = 0; r < height; r++) {
      for (var c = 0; c < width; c++) {
        var sum = 0;
        for (var i = 0; i < 3; i++) {
          var rr = r + i - 1;
          if (rr < 0 || rr >= height) continue;          // a zero of the padding
          for (var j = 0; j < 3; j++) {
            var cc = c + j - 1;
            if (cc < 0 || cc >= width) continue;
            sum += kernel[i][j] * pixels[rr * width + cc];
          }
        }
        out[r * width + c] = sum;
      }
    }
    return out;
  }

  /* |value| clipped to [0, 1], as a byte 0..255 (rounded half up). */
  function displayByte(value) {
    var magnitude = Math.min(Math.abs(value), 1);
    return Math.floor(magnitude * 255 + 0.5);
  }

  function formatWeight(value) {
    return String(Math.round(value * 10000) / 10000);
  }

  /* A colour for a weight: red for positive, blue for negative, like the book's plots. */
  function weightColour(value, limit) {
    var t = Math.min(Math.abs(value) / (limit || 1), 1);
    var a = (0.08 + 0.42 * t).toFixed(2);
    if (value > 0) return "rgba(214, 39, 40, " + a + ")";
    if (value < 0) return "rgba(31, 119, 180, " + a + ")";
    return "transparent";
  }


  function setup(root) {
    if (root.getAttribute(READY)) return;
    root.setAttribute(READY, "starting");
    var dataNode = root.querySelector("script.cnnbook-playground-data");
    var photo = root.querySelector("img.cnnbook-playground-photo");
    var canvas = root.querySelector("canvas.cnnbook-playground-output");
    var controls = root.querySelector(".cnnbook-playground-controls");
    if (!dataNode || !photo || !canvas || !controls) {
      root.setAttribute(READY, "broken");
      return;
    }
    var data = JSON.parse(dataNode.textContent);
    var presets = data.presets;
    var names = Object.keys(presets);
    var kernel = presets[data.initial].map(function (row) { return row.slice(); });
    var pixels = null;
    var width = 0;
    var height = 0;

    /* The controls: a button per preset, a 3x3 grid of number boxes, the sum. */
    var presetRow = element("div", "cnnbook-playground-presets");
    presetRow.setAttribute("role", "group");
    presetRow.setAttribute("aria-label", "Preset kernels");
    var buttons = {};
    names.forEach(function (name) {
      var button = element("button", "cnnbook-playground-preset", name);
      button.type = "button";
      button.setAttribute("data-preset", name);
      button.addEventListener("click", function () { usePreset(name); });
      buttons[name] = button;
      presetRow.appendChild(button);
    });
    var grid = element("div", "cnnbook-playground-kernel");
    grid.setAttribute("role", "group");
    grid.setAttribute("aria-label", "Kernel weights, 3 rows of 3");
    var inputs = [];
    for (var i = 0; i < 3; i++) {
      inputs.push([]);
      for (var j = 0; j < 3; j++) {
        var input = element("input", "cnnbook-playground-weight");
        input.type = "number";
        input.step = "0.1";
        input.setAttribute("data-row", String(i));
        input.setAttribute("data-col", String(j));
        input.setAttribute("aria-label", "weight, row " + (i + 1) + ", column " + (j + 1));
        input.addEventListener("input", onWeightTyped);
        inputs[i].push(input);
        grid.appendChild(input);
      }
    }
    var sumLine = element("p", "cnnbook-playground-sum");
    sumLine.setAttribute("aria-live", "polite"); /* read out when the weights change */
    controls.appendChild(presetRow);
    controls.appendChild(grid);
    controls.appendChild(sumLine);

    function showKernel(activePreset) {
      var limit = 0;
      kernel.forEach(function (row) {
        row.forEach(function (w) { limit = Math.max(limit, Math.abs(w)); });
      });
      for (var r = 0; r < 3; r++) {
        for (var c = 0; c < 3; c++) {
          if (activePreset !== null) inputs[r][c].value = formatWeight(kernel[r][c]);
          inputs[r][c].style.backgroundColor = weightColour(kernel[r][c], limit);
        }
      }
      names.forEach(function (name) {
        var on = name === activePreset;
        buttons[name].classList.toggle("cnnbook-playground-active", on);
        buttons[name].setAttribute("aria-pressed", on ? "true" : "false");
      });
      var sum = 0;
      kernel.forEach(function (row) { row.forEach(function (w) { sum += w; }); });
      sumLine.textContent = "Sum of the weights: " + formatWeight(sum) +
        (Math.abs(sum - 1) < 1e-6 ? " (brightness kept)" :
          Math.abs(sum) < 1e-6 ? " (flat areas turn black)" : "");
      root.setAttribute("data-kernel", JSON.stringify(kernel));
      if (activePreset !== null) root.setAttribute("data-preset", activePreset);
      else root.removeAttribute("data-preset");
    }

    function redraw() {
      if (pixels === null) return;
      var out = convolveSame(pixels, width, height, kernel);
      var context = canvas.getContext("2d");
      var picture = context.createImageData(width, height);
      for (var p = 0; p < out.length; p++) {
        var byte = displayByte(out[p]);
        picture.data[4 * p] = byte;
        picture.data[4 * p + 1] = byte;
        picture.data[4 * p + 2] = byte;
        picture.data[4 * p + 3] = 255;
      }
      context.putImageData(picture, 0, 0);
      var count = Number(root.getAttribute("data-redraws") || "0") + 1;
      root.setAttribute("data-redraws", String(count));
    }

    function usePreset(name) {
      kernel = presets[name].map(function (row) { return row.slice(); });
      showKernel(name);
      redraw();
    }

    function onWeightTyped(event) {
      var input = event.target;
      var value = parseFloat(input.value);
      if (!isFinite(value)) {          // "" or "-" while typing: wait for a number
        input.classList.add("cnnbook-playground-invalid");
        return;
      }
      input.classList.remove("cnnbook-playground-invalid");
      kernel[Number(input.getAttribute("data-row"))][Number(input.getAttribute("data-col"))] = value;
      showKernel(null);
      redraw();
    }

    function readPhoto() {
      width = photo.naturalWidth;
      height = photo.naturalHeight;
      canvas.width = width;
      canvas.height = height;
      var scratch = document.createElement("canvas");
      scratch.width = width;
      scratch.height = height;
      var context = scratch.getContext("2d");
      context.drawImage(photo, 0, 0);
      var rgba = context.getImageData(0, 0, width, height).data;
      pixels = new Float64Array(width * height);
      for (var p = 0; p < pixels.length; p++) pixels[p] = rgba[4 * p] / 255;
      redraw();
      var fallback = root.querySelector(".cnnbook-playground-nojs");
      if (fallback) fallback.remove();
      root.setAttribute(READY, "yes");
    }

    /* The reader's own photo: file picker, drag-and-drop or paste. It is read here, in
     * the browser (nothing is uploaded), shrunk so that its longer side is at most
     * data.maxUploadSide pixels (the filtering stays quick), and made grey with the
     * weights of Pillow's convert("L"), as the book's photo is. */
    var fileInput = root.querySelector("input.cnnbook-playground-file");
    var uploadStatus = root.querySelector(".cnnbook-playground-upload-status");

    function say(message, isError) {
      if (!uploadStatus) return;
      uploadStatus.textContent = message;
      uploadStatus.classList.toggle("cnnbook-playground-error", Boolean(isError));
    }

    function useFile(file) {
      window.cnnbookShared.readImageFile(file, function (image) {
        var shrunk = window.cnnbookShared.drawShrunk(image, data.maxUploadSide, 3);
        var w = shrunk.width, h = shrunk.height;
        var picture = shrunk.context.getImageData(0, 0, w, h);
        var rgba = picture.data;
        for (var p = 0; p < w * h; p++) {
          var grey = Math.round((rgba[4 * p] * 299 + rgba[4 * p + 1] * 587 +
            rgba[4 * p + 2] * 114) / 1000);
          rgba[4 * p] = rgba[4 * p + 1] = rgba[4 * p + 2] = grey;
          rgba[4 * p + 3] = 255;
        }
        shrunk.context.putImageData(picture, 0, 0);
        photo.width = w;
        photo.height = h;
        photo.alt = "Your photo \u201c" + file.name +
          "\u201d, in grey, the input of the playground.";
        photo.src = shrunk.canvas.toDataURL("image/png");
        var shrank = w < image.naturalWidth || h < image.naturalHeight;
        say("Filtering your photo \u201c" + file.name + "\u201d (" + image.naturalWidth + " x " +
          image.naturalHeight + " pixels" + (shrank ? ", shrunk to " + w + " x " + h : "") +
          "), in grey. It stays in your browser.");
      }, function (message) {
        say(message, true);
      });
    }

    if (fileInput) {
      fileInput.addEventListener("change", function () {
        if (fileInput.files && fileInput.files[0]) useFile(fileInput.files[0]);
      });
      window.cnnbookShared.acceptDropAndPaste(
        root, root, "cnnbook-playground-dragging", useFile);
    }

    showKernel(data.initial);
    photo.addEventListener("load", readPhoto); // the first photo, and each of the reader's
    if (photo.complete && photo.naturalWidth > 0) readPhoto();
  }

  // First the playground this script sits in, then any other on the page (see
  // cnnbookShared.setUpEvery, in cnnbook/web/shared.js).
  var setupAll = window.cnnbookShared.setUpEvery(
    ".cnnbook-playground", READY, setup, document.currentScript);
  window.cnnbookPlayground = { convolveSame: convolveSame, displayByte: displayByte, setupAll: setupAll };
})();
