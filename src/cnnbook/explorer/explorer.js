/*
 * The model explorer (cnnbook.widgets.model_explorer), in plain JavaScript (no library).
 *
 * cnnbook.widgets.model_explorer() writes, for each explorer, a
 * <div class="cnnbook-explorer"> holding a JSON description of a trained Keras model
 * (written by cnnbook.explorer.describe_model), its weights packed as text (encode_85), and this
 * script. The script turns every such div on the page that is not set up yet into a live
 * explorer; nothing here uses a fixed element id, and nothing is fetched.
 *
 * Tensors are Float32Arrays in Keras's channels-last order: value (row, col, channel)
 * of an H x W x C tensor sits at (row * W + col) * C + channel, so Flatten is a no-op.
 * Conv2D is a cross-correlation like Keras's, "same" padding as TensorFlow pads (the
 * odd pixel goes after), sums in float64. Pooling windows skip the padding (max of the
 * real values, average over the real values), as Keras does.
 *
 * Two kinds of input:
 *   - "drawing" (a grey model such as the MNIST convnet): the reader draws on a canvas;
 *     the drawing is cropped to its ink, scaled so that its longer side is 20 pixels and
 *     placed in a 28x28 frame with its centre of mass in the middle, as MNIST's digits
 *     were (for other sizes, the same proportions);
 *   - "photo" (a colour model such as rung 6): the reader picks, drops or pastes a
 *     photo; it is resized to the model's input size with an antialiased bilinear filter
 *     (TensorFlow's tf.image.resize(..., antialias=True), Pillow's BILINEAR), rounded to
 *     bytes, and scaled, as the lab's pipeline does. The photo stays in the browser.
 */
(function () {
  "use strict";

  var element = window.cnnbookShared.element; // web/shared.js, inlined before this

  var READY = "data-cnnbook-ready";
  var MAX_PHOTO_SIDE = 1024; // larger photos are first shrunk by the browser (speed)

  // ------------------------------------------------------------------ weights
  /* Bytes from the text cnnbook.explorer.encode_85 wrote: 5 characters for 4 bytes. */
  function decode85(text, alphabet, length) {
    var lookup = new Int32Array(128).fill(-1), i;
    for (i = 0; i < alphabet.length; i++) lookup[alphabet.charCodeAt(i)] = i;
    var bytes = new Uint8Array(text.length / 5 * 4);
    for (var group = 0, out = 0; group < text.length; group += 5, out += 4) {
      var value = 0;
      for (i = 0; i < 5; i++) value = value * 85 + lookup[text.charCodeAt(group + i)];
      bytes[out] = Math.floor(value / 16777216) & 255;
      bytes[out + 1] = (value >>> 16) & 255;
      bytes[out + 2] = (value >>> 8) & 255;
      bytes[out + 3] = value & 255;
    }
    return bytes.subarray(0, length);
  }

  /* The float32 values of one packed entry (little-endian float32, or int16 or int8 times
     a scale per output channel). */
  function readEntry(view, entry) {
    var out = new Float32Array(entry.length);
    var i;
    if (entry.dtype === "float32") {
      for (i = 0; i < entry.length; i++) out[i] = view.getFloat32(entry.offset + 4 * i, true);
      return out;
    }
    var scales = readEntry(view, entry.scales);
    var columns = scales.length;
    if (entry.dtype === "int16") {
      for (i = 0; i < entry.length; i++) {
        out[i] = Math.fround(view.getInt16(entry.offset + 2 * i, true) * scales[i % columns]);
      }
    } else if (entry.dtype === "int8") {
      for (i = 0; i < entry.length; i++) {
        out[i] = Math.fround(view.getInt8(entry.offset + i) * scales[i % columns]);
      }
    } else {
      throw new Error("unknown weight dtype " + entry.dtype);
    }
    return out;
  }

  /* The description with every weight array decoded, ready to run. */
  function prepareModel(description, bytes) {
    var view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    var shape = description.inputShape.slice();
    var layers = description.layers.map(function (spec) {
      var layer = { spec: spec, type: spec.type, name: spec.name, inShape: shape,
                    outShape: spec.outputShape };
      ["weights", "bias", "scale", "shift"].forEach(function (key) {
        if (spec[key]) layer[key] = readEntry(view, spec[key]);
      });
      shape = spec.outputShape;
      return layer;
    });
    return { name: description.name, inputShape: description.inputShape, layers: layers };
  }

  // ------------------------------------------------------------------ the forward pass
  function conv2d(layer, x) {
    var H = layer.inShape[0], W = layer.inShape[1], C = layer.inShape[2];
    var OH = layer.outShape[0], OW = layer.outShape[1], CO = layer.outShape[2];
    var kh = layer.spec.kernel[0], kw = layer.spec.kernel[1];
    var sh = layer.spec.strides[0], sw = layer.spec.strides[1];
    var top = layer.spec.pad[0], left = layer.spec.pad[1];
    var w = layer.weights, bias = layer.bias, relu = layer.spec.activation === "relu";
    var out = new Float32Array(OH * OW * CO);
    var acc = new Float64Array(CO);
    for (var oy = 0; oy < OH; oy++) {
      var y0 = oy * sh - top;
      for (var ox = 0; ox < OW; ox++) {
        var x0 = ox * sw - left;
        for (var co = 0; co < CO; co++) acc[co] = bias[co];
        for (var ky = 0; ky < kh; ky++) {
          var iy = y0 + ky;
          if (iy < 0 || iy >= H) continue; // a zero of the padding
          for (var kx = 0; kx < kw; kx++) {
            var ix = x0 + kx;
            if (ix < 0 || ix >= W) continue;
            var xi = (iy * W + ix) * C;
            var wi = (ky * kw + kx) * C * CO;
            for (var ci = 0; ci < C; ci++) {
              var v = x[xi + ci];
              if (v === 0) continue; // ReLU outputs are mostly zeros
              var row = wi + ci * CO;
              for (co = 0; co < CO; co++) acc[co] += v * w[row + co];
            }
          }
        }
        var o = (oy * OW + ox) * CO;
        for (co = 0; co < CO; co++) {
          var value = acc[co];
          out[o + co] = relu && value < 0 ? 0 : value;
        }
      }
    }
    return out;
  }

  function pool(layer, x) {
    var H = layer.inShape[0], W = layer.inShape[1], C = layer.inShape[2];
    var OH = layer.outShape[0], OW = layer.outShape[1];
    var kh = layer.spec.kernel[0], kw = layer.spec.kernel[1];
    var sh = layer.spec.strides[0], sw = layer.spec.strides[1];
    var top = layer.spec.pad[0], left = layer.spec.pad[1];
    var isMax = layer.type === "maxpool";
    var out = new Float32Array(OH * OW * C);
    var acc = new Float64Array(C);
    for (var oy = 0; oy < OH; oy++) {
      for (var ox = 0; ox < OW; ox++) {
        var count = 0, c;
        for (c = 0; c < C; c++) acc[c] = isMax ? -Infinity : 0;
        for (var ky = 0; ky < kh; ky++) {
          var iy = oy * sh - top + ky;
          if (iy < 0 || iy >= H) continue;
          for (var kx = 0; kx < kw; kx++) {
            var ix = ox * sw - left + kx;
            if (ix < 0 || ix >= W) continue;
            var xi = (iy * W + ix) * C;
            count++;
            if (isMax) {
              for (c = 0; c < C; c++) if (x[xi + c] > acc[c]) acc[c] = x[xi + c];
            } else {
              for (c = 0; c < C; c++) acc[c] += x[xi + c];
            }
          }
        }
        var o = (oy * OW + ox) * C;
        for (c = 0; c < C; c++) out[o + c] = isMax ? acc[c] : acc[c] / count;
      }
    }
    return out;
  }

  function affine(layer, x) {
    var C = layer.scale.length;
    var out = new Float32Array(x.length);
    for (var i = 0; i < x.length; i++) {
      var c = i % C;
      out[i] = x[i] * layer.scale[c] + layer.shift[c];
    }
    return out;
  }

  function activate(name, x) {
    var out = new Float32Array(x.length);
    var i;
    if (name === "relu") {
      for (i = 0; i < x.length; i++) out[i] = x[i] > 0 ? x[i] : 0;
    } else if (name === "sigmoid") {
      for (i = 0; i < x.length; i++) out[i] = 1 / (1 + Math.exp(-x[i]));
    } else if (name === "softmax") {
      var top = -Infinity, total = 0;
      for (i = 0; i < x.length; i++) top = Math.max(top, x[i]);
      var e = new Float64Array(x.length);
      for (i = 0; i < x.length; i++) { e[i] = Math.exp(x[i] - top); total += e[i]; }
      for (i = 0; i < x.length; i++) out[i] = e[i] / total;
    } else {
      out.set(x);
    }
    return out;
  }

  function globalAveragePool(layer, x) {
    var C = layer.inShape[2], pixels = layer.inShape[0] * layer.inShape[1];
    var acc = new Float64Array(C);
    for (var i = 0; i < x.length; i++) acc[i % C] += x[i];
    var out = new Float32Array(C);
    for (var c = 0; c < C; c++) out[c] = acc[c] / pixels;
    return out;
  }

  function dense(layer, x) {
    var units = layer.outShape[0], n = x.length, w = layer.weights;
    var acc = new Float64Array(units);
    for (var u = 0; u < units; u++) acc[u] = layer.bias[u];
    for (var i = 0; i < n; i++) {
      var v = x[i];
      if (v === 0) continue;
      var row = i * units;
      for (u = 0; u < units; u++) acc[u] += v * w[row + u];
    }
    return activate(layer.spec.activation, Float32Array.from(acc));
  }

  /* Every layer's output for one input (a Float32Array of the input shape, HWC). */
  function run(model, input) {
    var expected = model.inputShape[0] * model.inputShape[1] * model.inputShape[2];
    if (input.length !== expected) {
      throw new Error("input has " + input.length + " values, the model wants " + expected);
    }
    var x = input instanceof Float32Array ? input : Float32Array.from(input);
    return model.layers.map(function (layer) {
      switch (layer.type) {
        case "conv2d": x = conv2d(layer, x); break;
        case "maxpool": case "avgpool": x = pool(layer, x); break;
        case "affine": x = affine(layer, x); break;
        case "activation": x = activate(layer.spec.activation, x); break;
        case "flatten": break;
        case "globalavgpool": x = globalAveragePool(layer, x); break;
        case "dense": x = dense(layer, x); break;
        default: throw new Error("unknown layer type " + layer.type);
      }
      return x;
    });
  }

  // ------------------------------------------------------------------ images
  /* Antialiased bilinear resampling weights along one axis (Pillow's and TensorFlow's
   * triangle filter, widened by the shrink factor). */
  function resampleWeights(inSize, outSize) {
    var scale = inSize / outSize, support = Math.max(scale, 1);
    var rows = [];
    for (var i = 0; i < outSize; i++) {
      var centre = (i + 0.5) * scale;
      var from = Math.max(Math.floor(centre - support + 0.5), 0);
      var to = Math.min(Math.floor(centre + support + 0.5), inSize);
      var weights = [], total = 0;
      for (var j = from; j < to; j++) {
        var w = Math.max(0, 1 - Math.abs((j + 0.5 - centre) / support));
        weights.push(w);
        total += w;
      }
      for (var k = 0; k < weights.length; k++) weights[k] /= total;
      rows.push({ from: from, weights: weights });
    }
    return rows;
  }

  /* Resize an interleaved image (Float32Array or Uint8ClampedArray, `stride` values a
   * pixel, the first `channels` used) to outH x outW x channels, as floats. */
  function resize(pixels, inH, inW, stride, channels, outH, outW) {
    var across = resampleWeights(inW, outW), down = resampleWeights(inH, outH);
    var middle = new Float64Array(inH * outW * channels);
    var y, x, c, k, acc, entry;
    for (y = 0; y < inH; y++) {
      for (x = 0; x < outW; x++) {
        entry = across[x];
        for (c = 0; c < channels; c++) {
          acc = 0;
          for (k = 0; k < entry.weights.length; k++) {
            acc += entry.weights[k] * pixels[(y * inW + entry.from + k) * stride + c];
          }
          middle[(y * outW + x) * channels + c] = acc;
        }
      }
    }
    var out = new Float32Array(outH * outW * channels);
    for (y = 0; y < outH; y++) {
      entry = down[y];
      for (x = 0; x < outW; x++) {
        for (c = 0; c < channels; c++) {
          acc = 0;
          for (k = 0; k < entry.weights.length; k++) {
            acc += entry.weights[k] * middle[((entry.from + k) * outW + x) * channels + c];
          }
          out[(y * outW + x) * channels + c] = acc;
        }
      }
    }
    return out;
  }

  /* A drawing (grey values in [0, 1], H x W) as MNIST would have it: cropped to its ink,
   * the longer side scaled to `box` pixels, centre of mass in the middle of outH x outW. */
  function centreDrawing(grey, H, W, outH, outW, box) {
    var top = H, bottom = -1, left = W, right = -1, y, x;
    for (y = 0; y < H; y++) {
      for (x = 0; x < W; x++) {
        if (grey[y * W + x] > 0.01) {
          if (y < top) top = y;
          if (y > bottom) bottom = y;
          if (x < left) left = x;
          if (x > right) right = x;
        }
      }
    }
    var out = new Float32Array(outH * outW);
    if (bottom < 0) return out; // nothing drawn
    var cropH = bottom - top + 1, cropW = right - left + 1;
    var crop = new Float32Array(cropH * cropW);
    for (y = 0; y < cropH; y++) {
      for (x = 0; x < cropW; x++) crop[y * cropW + x] = grey[(y + top) * W + x + left];
    }
    var factor = box / Math.max(cropH, cropW);
    var smallH = Math.max(1, Math.round(cropH * factor));
    var smallW = Math.max(1, Math.round(cropW * factor));
    var small = resize(crop, cropH, cropW, 1, 1, smallH, smallW);
    var mass = 0, rowSum = 0, colSum = 0;
    for (y = 0; y < smallH; y++) {
      for (x = 0; x < smallW; x++) {
        var v = small[y * smallW + x];
        mass += v; rowSum += v * (y + 0.5); colSum += v * (x + 0.5);
      }
    }
    // MNIST's centres of mass sit on the centre of pixel (14, 14): 14.5 from the edge.
    var offsetY = Math.round(outH / 2 + 0.5 - rowSum / mass);
    var offsetX = Math.round(outW / 2 + 0.5 - colSum / mass);
    offsetY = Math.min(Math.max(offsetY, 0), outH - smallH);
    offsetX = Math.min(Math.max(offsetX, 0), outW - smallW);
    for (y = 0; y < smallH; y++) {
      for (x = 0; x < smallW; x++) {
        out[(y + offsetY) * outW + x + offsetX] = Math.min(1, Math.max(0, small[y * smallW + x]));
      }
    }
    return out;
  }

  /* Diverging colours, blue (negative) - white (0) - red (positive), ColorBrewer RdBu,
   * which stays readable with the common kinds of colour blindness. */
  var PALETTE = [[33, 102, 172], [103, 169, 207], [209, 229, 240], [247, 247, 247],
                 [253, 219, 199], [239, 138, 98], [178, 24, 43]];

  function divergingColour(t) { // t in [-1, 1]
    var position = (Math.max(-1, Math.min(1, t)) + 1) / 2 * (PALETTE.length - 1);
    var i = Math.min(Math.floor(position), PALETTE.length - 2), f = position - i;
    var a = PALETTE[i], b = PALETTE[i + 1];
    return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
  }

  /* One channel of an H x W x C tensor on a canvas, scaled to the largest |value| of the
   * channel. Returns that largest value. */
  function paintMap(canvas, values, H, W, C, channel) {
    var limit = 0, p;
    for (p = 0; p < H * W; p++) limit = Math.max(limit, Math.abs(values[p * C + channel]));
    var context = canvas.getContext("2d");
    var picture = context.createImageData(W, H);
    for (p = 0; p < H * W; p++) {
      var rgb = divergingColour(limit > 0 ? values[p * C + channel] / limit : 0);
      picture.data[4 * p] = rgb[0];
      picture.data[4 * p + 1] = rgb[1];
      picture.data[4 * p + 2] = rgb[2];
      picture.data[4 * p + 3] = 255;
    }
    context.putImageData(picture, 0, 0);
    return limit;
  }

  /* The input as the network sees it: grey or colour, values in [0, 1] (scaled back). */
  function paintInput(canvas, values, H, W, C, scale) {
    var context = canvas.getContext("2d");
    var picture = context.createImageData(W, H);
    for (var p = 0; p < H * W; p++) {
      for (var k = 0; k < 3; k++) {
        var v = values[p * C + (C === 3 ? k : 0)] / (scale * 255);
        picture.data[4 * p + k] = Math.round(Math.max(0, Math.min(1, v)) * 255);
      }
      picture.data[4 * p + 3] = 255;
    }
    context.putImageData(picture, 0, 0);
  }


  function percent(p) {
    return (100 * p).toFixed(p >= 0.9995 || p < 0.0005 ? 0 : 1) + "%";
  }

  // ------------------------------------------------------------------ the widget
  var counter = 0;

  function setup(root) {
    if (root.getAttribute(READY)) return;
    root.setAttribute(READY, "starting");
    var dataNode = root.querySelector("script.cnnbook-explorer-data");
    var app = root.querySelector(".cnnbook-explorer-app");
    if (!dataNode || !app) { root.setAttribute(READY, "broken"); return; }
    var data = JSON.parse(dataNode.textContent);
    var model = prepareModel(data.model,
      decode85(data.weights, data.alphabet, data.model.weightBytes));
    var H = model.inputShape[0], W = model.inputShape[1], C = model.inputShape[2];
    var scale = data.inputScale;
    var classes = data.classNames;
    var uid = "cnnbook-explorer-" + (++counter) + "-" + Math.random().toString(36).slice(2, 8);
    var input = new Float32Array(H * W * C);
    var examples = data.examples ?
      decode85(data.examples.pixels, data.alphabet, data.examples.length) : null;
    var pending = false;
    var mode = "drawing", inked = false; // drawing: the pad is the input; example: a pick

    /* ---- the input column */
    var inputs = element("div", "cnnbook-explorer-inputs");
    var sees = element("figure", "cnnbook-explorer-sees");
    var seenCanvas = element("canvas", "cnnbook-explorer-seen");
    seenCanvas.width = W; seenCanvas.height = H;
    seenCanvas.setAttribute("role", "img");
    var seenCaption = element("figcaption", null,
      "As the network sees it: " + H + " x " + W + (C === 3 ? " colour" : " grey") + " pixels.");
    sees.appendChild(seenCanvas); sees.appendChild(seenCaption);
    var status = element("p", "cnnbook-explorer-status");
    status.setAttribute("role", "status");

    var drawCanvas = null, drawContext = null, picker = null;
    if (data.inputKind === "drawing") {
      var pad = element("figure", "cnnbook-explorer-pad");
      drawCanvas = element("canvas", "cnnbook-explorer-draw");
      drawCanvas.width = 280; drawCanvas.height = 280;
      drawCanvas.setAttribute("role", "img");
      drawCanvas.setAttribute("aria-label", "Drawing area: draw a digit here with a mouse, a " +
        "finger or a pen. Keyboard users: pick a test digit below.");
      // read back at every update: keep the pixels on the CPU side
      drawContext = drawCanvas.getContext("2d", { willReadFrequently: true });
      pad.appendChild(drawCanvas);
      pad.appendChild(element("figcaption", null, "Draw here (mouse, finger or pen)."));
      var buttons = element("div", "cnnbook-explorer-buttons");
      var clear = element("button", "cnnbook-explorer-clear", "Clear");
      clear.type = "button";
      clear.setAttribute("aria-label", "Clear the drawing");
      clear.addEventListener("click", function () { clearDrawing(); schedule(); });
      buttons.appendChild(clear);
      inputs.appendChild(pad);
      inputs.appendChild(buttons);
      wireDrawing();
    } else {
      var drop = element("div", "cnnbook-explorer-drop");
      drop.tabIndex = 0;
      drop.setAttribute("role", "group");
      drop.setAttribute("aria-label", "Your photo: drop it here, paste it, or choose a file");
      var fileLabel = element("label", "cnnbook-explorer-file-label");
      fileLabel.appendChild(document.createTextNode("Choose a photo "));
      var fileInput = element("input", "cnnbook-explorer-file");
      fileInput.type = "file";
      fileInput.accept = "image/*";
      fileLabel.appendChild(fileInput);
      drop.appendChild(element("p", null, "Drop a photo here, paste one, or:"));
      drop.appendChild(fileLabel);
      drop.appendChild(element("p", "cnnbook-explorer-private",
        "Your photo stays in your browser: nothing is uploaded."));
      inputs.appendChild(drop);
      fileInput.addEventListener("change", function () {
        if (fileInput.files && fileInput.files[0]) readPhotoFile(fileInput.files[0]);
      });
      wireDropAndPaste(drop);
    }
    if (examples) {
      var pickLabel = element("label", "cnnbook-explorer-pick");
      pickLabel.appendChild(document.createTextNode(data.examples.prompt + " "));
      picker = element("select", "cnnbook-explorer-examples");
      picker.appendChild(new Option("(choose one)", ""));
      data.examples.titles.forEach(function (title, index) {
        picker.appendChild(new Option(title, String(index)));
      });
      picker.addEventListener("change", function () {
        if (picker.value !== "") useExample(Number(picker.value));
      });
      pickLabel.appendChild(picker);
      inputs.appendChild(pickLabel);
    }
    inputs.appendChild(sees);
    inputs.appendChild(status);

    /* ---- the output column: a bar and a number per class */
    var outputs = element("div", "cnnbook-explorer-outputs");
    var answer = element("p", "cnnbook-explorer-answer");
    answer.setAttribute("aria-live", "polite");
    var bars = element("table", "cnnbook-explorer-bars");
    var caption = element("caption", null, data.outputCaption);
    bars.appendChild(caption);
    var body = element("tbody");
    var barCells = classes.map(function (name) {
      var row = element("tr");
      var label = element("th", null, name);
      label.scope = "row";
      var barCell = element("td", "cnnbook-explorer-bar-cell");
      var bar = element("span", "cnnbook-explorer-bar");
      bar.setAttribute("aria-hidden", "true");
      barCell.appendChild(bar);
      var text = element("td", "cnnbook-explorer-value", "");
      row.appendChild(label); row.appendChild(barCell); row.appendChild(text);
      body.appendChild(row);
      return { row: row, bar: bar, text: text };
    });
    bars.appendChild(body);
    outputs.appendChild(answer);
    outputs.appendChild(bars);

    /* ---- feature maps of every convolution and pooling layer */
    var mapsBox = element("div", "cnnbook-explorer-maps");
    mapsBox.appendChild(element("p", "cnnbook-explorer-maps-title", data.mapsCaption));
    var mapViews = [];
    model.layers.forEach(function (layer, index) {
      if (["conv2d", "maxpool", "avgpool"].indexOf(layer.type) < 0) return;
      var s = layer.outShape, shown = Math.min(s[2], data.mapsPerLayer);
      var group = element("figure", "cnnbook-explorer-layer");
      var grid = element("div", "cnnbook-explorer-grid");
      var canvases = [];
      for (var channel = 0; channel < shown; channel++) {
        var canvas = element("canvas", "cnnbook-explorer-map");
        canvas.width = s[1]; canvas.height = s[0];
        canvas.setAttribute("role", "img");
        canvas.setAttribute("aria-label", layer.name + ", map " + channel);
        canvas.title = layer.name + " [" + channel + "]";
        grid.appendChild(canvas);
        canvases.push(canvas);
      }
      group.appendChild(grid);
      group.appendChild(element("figcaption", null, layer.name + " (" +
        (layer.type === "conv2d" ? "convolution" : "pooling") + "): " + s[0] + " x " + s[1] +
        " x " + s[2] + (shown < s[2] ? ", the first " + shown + " maps" : "")));
      mapsBox.appendChild(group);
      mapViews.push({ index: index, canvases: canvases, shape: s });
    });

    var row = element("div", "cnnbook-explorer-row");
    row.appendChild(inputs);
    row.appendChild(outputs);
    app.appendChild(row);
    app.appendChild(mapsBox);

    /* ---- computing and showing */
    function update() {
      pending = false;
      if (drawCanvas && mode === "drawing") input = drawingInput();
      var start = performance.now();
      var results = run(model, input);
      var milliseconds = performance.now() - start;
      var scores = results[results.length - 1];
      showScores(scores);
      paintInput(seenCanvas, input, H, W, C, scale);
      mapViews.forEach(function (view) {
        var values = results[view.index];
        view.canvases.forEach(function (canvas, channel) {
          paintMap(canvas, values, view.shape[0], view.shape[1], view.shape[2], channel);
        });
      });
      root.setAttribute("data-forward-ms", milliseconds.toFixed(2));
      root.setAttribute("data-scores", JSON.stringify(Array.from(scores)));
      root.setAttribute("data-updates", String(Number(root.getAttribute("data-updates") || 0) + 1));
    }

    function probabilities(scores) {
      if (data.outputKind === "binary") return [1 - scores[0], scores[0]];
      return Array.from(scores);
    }

    function showScores(scores) {
      var p = probabilities(scores);
      var best = 0, limit = 0;
      for (var k = 0; k < p.length; k++) {
        if (p[k] > p[best]) best = k;
        limit = Math.max(limit, Math.abs(p[k]));
      }
      var normalised = data.outputKind !== "other";
      barCells.forEach(function (cell, k) {
        var width = normalised ? p[k] : (limit > 0 ? Math.abs(p[k]) / limit : 0);
        cell.bar.style.width = (100 * Math.max(0, Math.min(1, width))).toFixed(1) + "%";
        cell.text.textContent = normalised ? percent(p[k]) : p[k].toFixed(3);
        cell.row.classList.toggle("cnnbook-explorer-best", k === best);
      });
      var blank = drawCanvas && mode === "drawing" && !inked;
      var text = blank ? "Draw a digit (or pick one): the network's answer appears here. " +
        "On an empty canvas it answers: " + classes[best] + "."
        : "The network says: " + classes[best] +
          (normalised ? " (" + percent(p[best]) + ")" : "") + ".";
      if (data.outputKind === "binary") {
        text += " " + data.scoreName + ": " + scores[0].toFixed(3) + ".";
      }
      answer.textContent = text;
      root.setAttribute("data-prediction", String(best));
      seenCanvas.setAttribute("aria-label", "The input as the network sees it; the network " +
        "says " + classes[best] + ".");
    }

    function schedule() {
      if (pending) return;
      pending = true;
      requestAnimationFrame(update);
    }

    /* ---- drawing */

    function clearDrawing() {
      drawContext.fillStyle = "#000";
      drawContext.fillRect(0, 0, drawCanvas.width, drawCanvas.height);
      mode = "drawing";
      inked = false;
      if (picker) picker.value = "";
    }

    function drawingInput() {
      var rgba = drawContext.getImageData(0, 0, drawCanvas.width, drawCanvas.height).data;
      var n = drawCanvas.width * drawCanvas.height, grey = new Float32Array(n);
      for (var p = 0; p < n; p++) grey[p] = rgba[4 * p] / 255;
      var box = Math.round(20 / 28 * Math.min(H, W));
      var centred = centreDrawing(grey, drawCanvas.height, drawCanvas.width, H, W, box);
      for (p = 0; p < centred.length; p++) centred[p] = Math.round(centred[p] * 255) * scale;
      return centred;
    }

    function wireDrawing() {
      var last = null;
      drawCanvas.style.touchAction = "none";
      function point(event) {
        var box = drawCanvas.getBoundingClientRect();
        return [(event.clientX - box.left) * drawCanvas.width / box.width,
                (event.clientY - box.top) * drawCanvas.height / box.height];
      }
      function stroke(from, to) {
        drawContext.strokeStyle = "#fff";
        drawContext.fillStyle = "#fff";
        drawContext.lineWidth = 22;
        drawContext.lineCap = "round";
        drawContext.lineJoin = "round";
        drawContext.beginPath();
        drawContext.moveTo(from[0], from[1]);
        drawContext.lineTo(to[0], to[1]);
        drawContext.stroke();
        inked = true;
        mode = "drawing";
        schedule();
      }
      drawCanvas.addEventListener("pointerdown", function (event) {
        event.preventDefault();
        try { // keep the stroke when the pointer leaves the canvas
          drawCanvas.setPointerCapture(event.pointerId);
        } catch (error) { /* a synthetic or already released pointer: draw anyway */ }
        last = point(event);
        stroke(last, last);
      });
      drawCanvas.addEventListener("pointermove", function (event) {
        if (last === null) return;
        event.preventDefault();
        var events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
        if (events.length === 0) events = [event];
        events.forEach(function (e) { var p = point(e); stroke(last, p); last = p; });
      });
      ["pointerup", "pointercancel", "lostpointercapture"].forEach(function (name) {
        drawCanvas.addEventListener(name, function () { last = null; });
      });
      clearDrawing();
    }

    /* ---- examples */
    function useExample(index) {
      var size = H * W * C, offset = index * size;
      input = new Float32Array(size);
      for (var i = 0; i < size; i++) input[i] = examples[offset + i] * scale;
      if (drawCanvas) { // show it on the pad too; drawing on it starts from it
        var small = document.createElement("canvas");
        small.width = W; small.height = H;
        paintInput(small, input, H, W, C, scale);
        drawContext.imageSmoothingEnabled = false;
        drawContext.drawImage(small, 0, 0, drawCanvas.width, drawCanvas.height);
        mode = "example";
        inked = true;
      }
      status.textContent = "Showing " + data.examples.titles[index] + ".";
      schedule();
    }

    /* ---- photos */
    function showError(message) {
      status.textContent = message;
      status.classList.add("cnnbook-explorer-error");
    }

    function readPhotoFile(file) {
      status.classList.remove("cnnbook-explorer-error");
      window.cnnbookShared.readImageFile(file, function (image) {
        usePhoto(image, file.name);
      }, showError);
    }

    function usePhoto(image, name) {
      var shrunk = window.cnnbookShared.drawShrunk(image, MAX_PHOTO_SIDE, 1);
      var rgba = shrunk.context.getImageData(0, 0, shrunk.width, shrunk.height).data;
      input = photoInput(rgba, shrunk.height, shrunk.width);
      status.textContent = "Showing your photo \u201c" + name + "\u201d (" + image.naturalWidth +
        " x " + image.naturalHeight + " pixels), resized to " + H + " x " + W + ".";
      root.setAttribute("data-photo", name);
      schedule();
    }

    function photoInput(rgba, h, w) {
      var resized = resize(rgba, h, w, 4, C === 3 ? 3 : 1, H, W);
      if (C !== 3) { // a grey model: the luma of the photo (Pillow's convert("L"))
        var rgb = resize(rgba, h, w, 4, 3, H, W);
        for (var p = 0; p < H * W; p++) {
          resized[p] = (rgb[3 * p] * 299 + rgb[3 * p + 1] * 587 + rgb[3 * p + 2] * 114) / 1000;
        }
      }
      for (var i = 0; i < resized.length; i++) {
        resized[i] = Math.round(Math.max(0, Math.min(255, resized[i]))) * scale;
      }
      return resized;
    }

    function wireDropAndPaste(zone) {
      window.cnnbookShared.acceptDropAndPaste(
        zone, root, "cnnbook-explorer-dragging", readPhotoFile);
      zone.addEventListener("keydown", function (event) {
        if (event.target === zone && (event.key === "Enter" || event.key === " ")) {
          event.preventDefault();
          zone.querySelector("input[type=file]").click();
        }
      });
    }

    root.cnnbookExplorer = {
      model: model,
      run: function (values) { return run(model, values); },
      predict: function (values) {
        var results = run(model, values);
        return Array.from(results[results.length - 1]);
      },
      photoInput: function (rgba, h, w) { return Array.from(photoInput(rgba, h, w)); },
      currentInput: function () { return Array.from(input); },
      update: update
    };
    root.id = root.id || uid;
    if (examples && !drawCanvas) useExample(0);
    update();
    var fallback = root.querySelector(".cnnbook-explorer-nojs");
    if (fallback) fallback.remove();
    root.setAttribute(READY, "yes");
  }

  // As the playground: the explorer this script sits in first, then any other.
  var setupAll = window.cnnbookShared.setUpEvery(
    ".cnnbook-explorer", READY, setup, document.currentScript);
  window.cnnbookExplorer = {
    decode85: decode85, prepareModel: prepareModel, run: run, resize: resize,
    centreDrawing: centreDrawing,
    setupAll: setupAll
  };
})();
