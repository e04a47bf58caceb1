/*
 * scikit-learn's KNeighborsClassifier.predict, replayed in the page (no server) on the model that
 * serverless_iris.helpers.tryit.export_knn exported: the fitted k-d tree's arrays, the labels and k.
 *
 * With one-decimal measurements many training points are equally near a flower, and which of them
 * count is decided by the order scikit-learn's query visits them. So this is a line-by-line port of
 * scikit-learn 1.x (neighbors/_binary_tree.pxi.tp: _query_single_depthfirst; _kd_tree.pyx.tp:
 * min_rdist; utils/_heap.pyx: heap_push; utils/_sorting.pyx: simultaneous_sort; classification:
 * scipy.stats.mode / weighted_mode with numpy's pairwise sum), in float64 with the same operations in
 * the same order. One deliberate difference: min_rdist squares with t * t where scikit-learn calls
 * pow(t, 2.0); both agree on every difference of one-decimal values in the iris range, and elsewhere
 * differ by at most one ulp in a node's lower bound, which only matters at an exact tie.
 */
(function (global) {
  "use strict";

  const FORMAT = "sklearn-kdtree-knn/1";

  // Squared Euclidean distance, summed feature by feature from 0 (euclidean_rdist).
  function rdist(a, b) {
    let d = 0;
    for (let j = 0; j < a.length; j++) {
      const t = a[j] - b[j];
      d += t * t;
    }
    return d;
  }

  // Lower bound of the squared distance from pt to a node's bounding box (min_rdist).
  function minRdist(model, node, pt) {
    const lower = model.node_bounds[0][node];
    const upper = model.node_bounds[1][node];
    let r = 0;
    for (let j = 0; j < pt.length; j++) {
      const dLo = lower[j] - pt[j];
      const dHi = pt[j] - upper[j];
      const half = 0.5 * ((dLo + Math.abs(dLo)) + (dHi + Math.abs(dHi)));
      r += half * half;
    }
    return r;
  }

  // Push onto the fixed-size max-heap of the k best so far; ties with the worst are rejected (heap_push).
  function heapPush(values, indices, val, valIdx) {
    const size = values.length;
    if (val >= values[0]) return;
    let current = 0;
    for (;;) {
      const left = 2 * current + 1;
      const right = left + 1;
      let swap;
      if (left >= size) break;
      else if (right >= size) {
        if (values[left] > val) swap = left;
        else break;
      } else if (values[left] >= values[right]) {
        if (val < values[left]) swap = left;
        else break;
      } else {
        if (val < values[right]) swap = right;
        else break;
      }
      values[current] = values[swap];
      indices[current] = indices[swap];
      current = swap;
    }
    values[current] = val;
    indices[current] = valIdx;
  }

  function swap(values, indices, i, j) {
    [values[i], values[j]] = [values[j], values[i]];
    [indices[i], indices[j]] = [indices[j], indices[i]];
  }

  // simultaneous_sort: introsort, 2-way partition, median-of-3 pivot, insertion sort below 16.
  function simultaneousSort(values, indices) {
    const n = values.length;
    if (n > 0) introsort(values, indices, 0, n, 2 * (31 - Math.clz32(n)));
  }

  function introsort(values, indices, start, n, maxd) {
    while (n > 15) {
      if (maxd <= 0) {
        heapsort(values, indices, start, n);
        return;
      }
      maxd -= 1;
      const pivot = median3(values, indices, start, n);
      let i = 1;
      let j = n - 2;
      for (;;) {
        while (i <= j && values[start + i] < pivot) i += 1;
        while (i <= j && values[start + j] > pivot) j -= 1;
        if (i >= j) break;
        swap(values, indices, start + i, start + j);
        i += 1;
        j -= 1;
      }
      swap(values, indices, start + i, start + n - 1);
      introsort(values, indices, start, i, maxd);
      start += i + 1;
      n -= i + 1;
    }
    for (let i = 1; i < n; i++) {
      const val = values[start + i];
      const idx = indices[start + i];
      let j = i;
      while (j > 0 && values[start + j - 1] > val) {
        values[start + j] = values[start + j - 1];
        indices[start + j] = indices[start + j - 1];
        j -= 1;
      }
      values[start + j] = val;
      indices[start + j] = idx;
    }
  }

  // inplace_median3: smallest to the front, median (the pivot) to the end, largest to the middle.
  function median3(values, indices, start, n) {
    const first = start;
    const last = start + n - 1;
    const middle = start + Math.floor(n / 2);
    if (values[first] > values[last]) swap(values, indices, first, last);
    if (values[last] > values[middle]) {
      swap(values, indices, last, middle);
      if (values[first] > values[last]) swap(values, indices, first, last);
    }
    return values[last];
  }

  function heapsort(values, indices, start, n) {
    for (let root = Math.floor((n - 2) / 2); root >= 0; root--) siftDown(values, indices, start, root, n);
    for (let end = n - 1; end > 0; end--) {
      swap(values, indices, start, start + end);
      siftDown(values, indices, start, 0, end);
    }
  }

  function siftDown(values, indices, start, root, end) {
    for (;;) {
      const child = 2 * root + 1;
      let max = root;
      if (child < end && values[start + max] < values[start + child]) max = child;
      if (child + 1 < end && values[start + max] < values[start + child + 1]) max = child + 1;
      if (max === root) return;
      swap(values, indices, start + root, start + max);
      root = max;
    }
  }

  /**
   * The k nearest training rows of pt, as KDTree.query(pt, k) returns them: closest first, with
   * squared distances (rdist) and row indices into the training data.
   */
  function kneighbors(model, pt) {
    const k = model.n_neighbors;
    const rdists = new Array(k).fill(Infinity);
    const indices = new Array(k).fill(0);
    const visit = (node, lowerBound) => {
      if (lowerBound > rdists[0]) return;
      const [idxStart, idxEnd, isLeaf] = model.nodes[node];
      if (isLeaf) {
        for (let i = idxStart; i < idxEnd; i++) {
          const row = model.idx_array[i];
          heapPush(rdists, indices, rdist(pt, model.data[row]), row);
        }
        return;
      }
      const left = 2 * node + 1;
      const right = left + 1;
      const leftBound = minRdist(model, left, pt);
      const rightBound = minRdist(model, right, pt);
      if (leftBound <= rightBound) {
        visit(left, leftBound);
        visit(right, rightBound);
      } else {
        visit(right, rightBound);
        visit(left, leftBound);
      }
    };
    visit(0, minRdist(model, 0, pt));
    simultaneousSort(rdists, indices);
    return { rdists, indices };
  }

  // numpy's pairwise summation (np.sum over a row of fewer than 129 values, starting from 0).
  function pairwiseSum(a) {
    if (a.length < 8) return a.reduce((sum, v) => sum + v, 0);
    if (a.length > 128) {
      const half = Math.floor(a.length / 2);
      const split = half - (half % 8);
      return pairwiseSum(a.slice(0, split)) + pairwiseSum(a.slice(split));
    }
    const r = a.slice(0, 8);
    let i = 8;
    for (; i < a.length - (a.length % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] += a[i + j];
    }
    let sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < a.length; i++) sum += a[i];
    return sum;
  }

  // Vote weights per neighbour: none for "uniform"; 1/distance, or only the exact matches, for "distance".
  function distanceWeights(rdists) {
    const weights = rdists.map((r) => 1 / Math.sqrt(r));
    if (!weights.includes(Infinity)) return weights;
    return weights.map((w) => (w === Infinity ? 1 : 0));
  }

  /** The class model.predict gives pt (an array in model.feature_names order). */
  function predict(model, pt) {
    const { rdists, indices } = kneighbors(model, pt);
    const labels = indices.map((row) => model.y[row]);
    const scores = model.classes.map(() => 0);
    if (model.weights === "uniform") {
      for (const label of labels) scores[label] += 1;
    } else {
      const weights = distanceWeights(rdists);
      scores.forEach((_, c) => {
        scores[c] = 0 + pairwiseSum(labels.map((label, j) => (label === c ? weights[j] : 0)));
      });
    }
    // The first of the best scores wins: scipy.stats.mode and weighted_mode pick the smallest class.
    let best = 0;
    for (let c = 1; c < scores.length; c++) if (scores[c] > scores[best]) best = c;
    return model.classes[best];
  }

  // The number typed in a field, or the message saying what is wrong with it.
  function readField(input) {
    const label = input.dataset.label || input.name;
    if (input.validity.badInput) return { error: `${label} must be a number.` };
    const raw = input.value.trim();
    if (raw === "") return { error: `Enter the ${label.toLowerCase()} in cm.` };
    const value = Number(raw);
    if (!Number.isFinite(value)) return { error: `${label} must be a number.` };
    // The data contract's range (serverless_iris.helpers.contract.LIMITS_CM): more than min, at most max.
    const min = Number(input.min);
    const max = Number(input.max);
    if (!(value > min && value <= max)) {
      return { error: `${label} must be more than ${min} cm and at most ${max} cm (got ${raw} cm).` };
    }
    return { value };
  }

  /**
   * Wire the "Try it" section: every edit re-predicts into #prediction (variety, picture, data-variety)
   * or shows what is wrong with the input. Returns {model, predict, kneighbors} taking feature arrays.
   */
  function mountTryIt(section) {
    const model = JSON.parse(section.querySelector("#try-it-model").textContent);
    const pictures = JSON.parse(section.querySelector("#try-it-pictures").textContent);
    const form = section.querySelector("form");
    const out = section.querySelector("#prediction");
    if (model.format !== FORMAT) {
      out.dataset.state = "error";
      out.textContent = `This page's model export is "${model.format}"; this script reads "${FORMAT}".`;
      return null;
    }
    const inputs = model.feature_names.map((name) => form.elements.namedItem(name));
    const message = document.createElement("p");
    message.className = "tryit-message";
    const figure = document.createElement("figure");
    figure.className = "tryit-result";
    const picture = document.createElement("img");
    picture.className = "tryit-picture";
    const caption = document.createElement("figcaption");
    const heading = document.createElement("span");
    heading.className = "tryit-caption";
    heading.textContent = "Predicted variety";
    const variety = document.createElement("strong");
    variety.className = "tryit-variety";
    caption.append(heading, variety);
    figure.append(picture, caption);

    const update = () => {
      const fields = inputs.map(readField);
      const problem = fields.find((field) => field.error);
      if (problem) {
        out.dataset.state = "error";
        delete out.dataset.variety;
        message.textContent = problem.error;
        out.replaceChildren(message);
        return;
      }
      const predicted = predict(model, fields.map((field) => field.value));
      out.dataset.state = "ok";
      out.dataset.variety = predicted;
      variety.textContent = predicted;
      picture.alt = `${predicted} iris`;
      if (picture.getAttribute("src") !== pictures[predicted]) picture.src = pictures[predicted];
      if (out.firstChild !== figure) out.replaceChildren(figure);
    };
    form.addEventListener("input", update);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      update();
    });
    update();
    return {
      model,
      predict: (pt) => predict(model, pt),
      kneighbors: (pt) => kneighbors(model, pt),
    };
  }

  global.irisKnn = { kneighbors, predict, mountTryIt };
})(window);
