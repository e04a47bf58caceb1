// Run history: filter by status and mode, compare two ticked runs. Data comes from #runs-data (inlined).
(function () {
  "use strict";
  var data = document.getElementById("runs-data");
  var table = document.getElementById("runs-table");
  if (!data || !table) {
    return;
  }
  var runs = {};
  JSON.parse(data.textContent).forEach(function (run) {
    runs[run.id] = run;
  });
  var rows = Array.prototype.slice.call(table.querySelectorAll("tr.run"));
  var status = document.getElementById("filter-status");
  var mode = document.getElementById("filter-mode");
  var count = document.getElementById("run-count");
  var noMatch = document.getElementById("no-match");
  var panel = document.getElementById("compare");
  var compareTable = document.getElementById("compare-table");
  var hint = document.getElementById("compare-hint");
  var picked = [];
  var PIPELINE = ["feature", "training", "inference"];

  function plural(n) {
    return n + (n === 1 ? " run" : " runs");
  }

  function filter() {
    var shown = 0;
    rows.forEach(function (row) {
      var visible = (!status.value || row.dataset.status === status.value) &&
        (!mode.value || row.dataset.mode === mode.value);
      row.hidden = !visible;
      shown += visible ? 1 : 0;
    });
    count.textContent = shown === rows.length ? plural(rows.length) : shown + " of " + plural(rows.length);
    noMatch.hidden = shown > 0;
  }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined) {
      node.textContent = text;
    }
    if (className) {
      node.className = className;
    }
    return node;
  }

  function addRow(body, label, a, b) {
    var tr = el("tr", undefined, a === b ? "" : "diff");
    tr.appendChild(el("th", label)).scope = "row";
    tr.appendChild(el("td", a));
    tr.appendChild(el("td", b));
    body.appendChild(tr);
  }

  function addGroup(body, label) {
    var tr = el("tr", undefined, "group");
    var th = el("th", label);
    th.colSpan = 3;
    tr.appendChild(th);
    body.appendChild(tr);
  }

  function keys(a, b) {
    var seen = {};
    return a.concat(b).filter(function (k) {
      return seen[k] ? false : (seen[k] = true);
    });
  }

  function pipelineIndex(name) {
    var i = PIPELINE.indexOf(name);
    return i < 0 ? PIPELINE.length : i;
  }

  function notebook(run, name) {
    var nb = run.notebooks.filter(function (n) { return n.name === name; })[0];
    return nb ? nb.status + " · " + nb.duration : "—";
  }

  function render() {
    var pair = picked.map(function (id) { return runs[id]; }).sort(function (x, y) {
      return x.id < y.id ? 1 : -1;
    });
    hint.textContent = picked.length === 0 ? "Tick two runs to compare them side by side."
      : picked.length === 1 ? "Tick one more run to compare with " + picked[0] + "." : "Comparing two runs.";
    panel.hidden = pair.length !== 2;
    compareTable.textContent = "";
    if (pair.length !== 2) {
      return;
    }
    var a = pair[0];
    var b = pair[1];
    var head = el("thead");
    var tr = el("tr");
    tr.appendChild(el("td", "")); // the corner: a header cell with no text is announced as nothing
    tr.appendChild(el("th", a.id));
    tr.appendChild(el("th", b.id));
    head.appendChild(tr);
    var body = el("tbody");
    addGroup(body, "Run");
    [["Started", "started"], ["Status", "status"], ["Mode", "mode"], ["Duration", "duration"],
      ["Backend", "backend"], ["Git commit", "git_commit"]].forEach(function (f) {
      addRow(body, f[0], a[f[1]] || "—", b[f[1]] || "—");
    });
    addGroup(body, "Parameters");
    var names = keys(Object.keys(a.parameters), Object.keys(b.parameters)).sort();
    if (!names.length) {
      addRow(body, "(none set)", "defaults", "defaults");
    }
    names.forEach(function (name) {
      var va = name in a.parameters ? a.parameters[name] : "default";
      var vb = name in b.parameters ? b.parameters[name] : "default";
      addRow(body, name, va, vb);
    });
    addGroup(body, "Notebooks");
    var nbs = keys(a.notebooks.map(function (n) { return n.name; }), b.notebooks.map(function (n) { return n.name; }));
    nbs.sort(function (x, y) { return pipelineIndex(x) - pipelineIndex(y); });
    nbs.forEach(function (name) {
      addRow(body, name, notebook(a, name), notebook(b, name));
    });
    addGroup(body, "Model");
    [["trained", "Trained: ", [["version", "version"], ["accuracy", "accuracy"], ["F1 (macro)", "f1"], ["parameters", "parameters"]]],
      ["predicted_with", "Predicted with: ", [["version", "version"], ["accuracy", "accuracy"], ["why", "chosen"]]]].forEach(function (role) {
      var ma = a.model[role[0]];
      var mb = b.model[role[0]];
      if (!ma && !mb) {
        addRow(body, role[1] + "model", "not recorded", "not recorded");
        return;
      }
      role[2].forEach(function (f) {
        addRow(body, role[1] + f[0], ma ? String(ma[f[1]]) : "not recorded", mb ? String(mb[f[1]]) : "not recorded");
      });
    });
    compareTable.appendChild(head);
    compareTable.appendChild(body);
  }

  function pick(event) {
    var box = event.target;
    picked = picked.filter(function (id) { return id !== box.value; });
    if (box.checked) {
      picked.push(box.value);
    }
    while (picked.length > 2) {
      var dropped = picked.shift();
      table.querySelector('input.compare-pick[value="' + dropped + '"]').checked = false;
    }
    render();
  }

  status.addEventListener("change", filter);
  mode.addEventListener("change", filter);
  table.addEventListener("change", function (event) {
    if (event.target.classList.contains("compare-pick")) {
      pick(event);
    }
  });
  document.getElementById("compare-clear").addEventListener("click", function () {
    picked = [];
    rows.forEach(function (row) { row.querySelector("input.compare-pick").checked = false; });
    render();
  });
  rows.forEach(function (row) { row.querySelector("input.compare-pick").checked = false; });
  filter();
})();
