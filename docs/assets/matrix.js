// The matrix page's filters, links and evidence (docs/matrix.md, written by docs_site/matrix.py).
// The table is in the page already; this reads the same data (the page's JSON) to narrow the
// columns, servers, Pythons and rows, to keep the view in the address bar (#column=...&cell=...),
// and to open a cell's evidence. It loads nothing: every page of the site includes it, and it
// does nothing where the page has no matrix.
(function () {
  "use strict";
  const source = document.getElementById("afw-matrix-data");
  if (!source) return;
  const DATA = JSON.parse(source.textContent);
  const NONE = "-";
  const AXES = {
    column: DATA.columns.map((c) => c.name),
    server: DATA.servers,
    python: DATA.pythons,
  };
  const ROWS = new Map(DATA.rows.map((r) => [r.name, r]));
  const TITLES = new Map(DATA.columns.map((c) => [c.name, c.title]));
  const table = document.getElementById("afw-m");
  const form = document.getElementById("afw-filters");
  const filters = document.getElementById("afw-filters-box");
  const dialog = document.getElementById("afw-evidence");
  const body = document.getElementById("afw-ev-body");
  let state = fresh();

  function fresh() {
    return { column: [...AXES.column], server: [...AXES.server], python: [...AXES.python], differ: false, q: "", cell: "" };
  }

  function esc(text) {
    return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  }

  // --- the cell's words: the same rule as docs_site/matrix.py's summary() and where() ---
  function measuredLabel(label) {
    return label !== NONE && label !== "n/a" && label !== "by construction";
  }

  function where(points, servers, pythons) {
    const has = (s, v) => points.some((p) => p[0] === s && p[1] === v);
    const on = servers.filter((s) => points.some((p) => p[0] === s));
    const at = pythons.filter((v) => points.some((p) => p[1] === v));
    const rectangle = points.length === on.length * at.length && on.every((s) => at.every((v) => has(s, v)));
    if (rectangle) {
      if (at.length === pythons.length) return "on " + on.join(", ");
      if (on.length === servers.length) return "on Python " + at.join(", ");
      return "on " + on.join(", ") + " with Python " + at.join(", ");
    }
    return "on " + on.map((s) => s + " (Python " + pythons.filter((v) => has(s, v)).join(", ") + ")").join("; ");
  }

  function labelAt(cell, server, python) {
    const index = cell.grid[server + "@" + python];
    return index === undefined ? NONE : cell.declared[index].label;
  }

  function summary(cell, servers, pythons) {
    if (!cell.grid) return [[cell.label, ""]];
    const groups = new Map();
    const points = [];
    for (const s of servers) for (const v of pythons) points.push([s, v]);
    for (const p of points) {
      const label = labelAt(cell, p[0], p[1]);
      if (!groups.has(label)) groups.set(label, []);
      groups.get(label).push(p);
    }
    const labels = [...groups.keys()];
    if (labels.length === 1) return [[labels[0], ""]];
    let main = labels[0];
    for (const label of labels) {
      const a = [measuredLabel(label), groups.get(label).length];
      const b = [measuredLabel(main), groups.get(main).length];
      if (a[0] > b[0] || (a[0] === b[0] && a[1] > b[1])) main = label;
    }
    if (2 * groups.get(main).length <= points.length) {
      return labels.map((l) => [l, where(groups.get(l), servers, pythons)]);
    }
    return [[main, ""]].concat(labels.filter((l) => l !== main).map((l) => [l, where(groups.get(l), servers, pythons)]));
  }

  function chips(row, parts) {
    return parts
      .map(([label, at]) => {
        const colour = row.colours[label] || "none";
        const where = at ? ' <span class="afw-at">' + esc(at) + "</span>" : "";
        return '<span class="afw-v afw-v-' + colour + '"><b>' + esc(label) + "</b>" + where + "</span>";
      })
      .join("");
  }

  // --- the view ---
  function chosen(axis) {
    return AXES[axis].filter((name) => state[axis].includes(name));
  }

  function render() {
    const columns = chosen("column");
    const servers = chosen("server");
    const pythons = chosen("python");
    const query = state.q.trim().toLowerCase();
    for (const cell of table.querySelectorAll("[data-col]")) cell.hidden = !columns.includes(cell.dataset.col);
    table.style.setProperty("--afw-cols", String(columns.length));
    for (const th of table.querySelectorAll(".afw-topic th")) th.colSpan = columns.length + 1; // a column less
    let shown = 0;
    for (const tr of table.querySelectorAll("tbody tr[id]")) {
      const row = ROWS.get(tr.id);
      const values = new Set();
      for (const column of AXES.column) {
        const parts = summary(row.cells[column], servers, pythons);
        const target = tr.querySelector('td[data-col="' + column + '"]');
        (target.querySelector(".afw-cell") || target).innerHTML = chips(row, parts);
        if (columns.includes(column)) {
          for (const [label] of parts) if (label !== NONE) values.add(label);
        }
      }
      const hidden = (state.differ && values.size < 2) || (query && !row.name.toLowerCase().includes(query));
      tr.hidden = hidden;
      if (!hidden) shown += 1;
    }
    for (const tbody of table.tBodies) {
      tbody.hidden = !tbody.querySelector("tr[id]:not([hidden])");
    }
    document.getElementById("afw-count").textContent = shown + " of " + DATA.rows.length + " properties";
    document.getElementById("afw-link").href = "#" + encode(Object.assign({}, state, { cell: "" }));
  }

  // --- the view in the address: only what differs from the whole matrix ---
  function encode(s) {
    const params = new URLSearchParams();
    for (const axis of ["column", "server", "python"]) {
      if (s[axis].length !== AXES[axis].length) params.set(axis, chosenOf(s, axis).join(","));
    }
    if (s.differ) params.set("differ", "1");
    if (s.q) params.set("q", s.q);
    if (s.cell) params.set("cell", s.cell);
    return params.toString();
  }

  function chosenOf(s, axis) {
    return AXES[axis].filter((name) => s[axis].includes(name));
  }

  function decode(hash) {
    const text = hash.replace(/^#/, "");
    if (!text.includes("=")) return null; // a row's or a topic's anchor, not a view
    const params = new URLSearchParams(text);
    const s = fresh();
    for (const axis of ["column", "server", "python"]) {
      if (params.has(axis)) {
        const picked = params.get(axis).split(",").filter((name) => AXES[axis].includes(name));
        if (picked.length) s[axis] = picked;
      }
    }
    s.differ = params.get("differ") === "1";
    s.q = params.get("q") || "";
    const cell = params.get("cell") || "";
    const [prop, column] = cell.split(":");
    s.cell = ROWS.has(prop) && AXES.column.includes(column) ? cell : "";
    return s;
  }

  function remember() {
    const hash = encode(state);
    const url = location.pathname + location.search + (hash ? "#" + hash : "");
    if (url !== location.pathname + location.search + location.hash) history.replaceState(null, "", url);
  }

  function toForm() {
    for (const input of form.querySelectorAll("input[type=checkbox]")) {
      input.checked = input.name === "differ" ? state.differ : state[input.name].includes(input.value);
    }
    form.elements.q.value = state.q;
  }

  function fromForm(event) {
    const next = fresh();
    for (const axis of ["column", "server", "python"]) {
      next[axis] = [...form.querySelectorAll('input[name="' + axis + '"]:checked')].map((i) => i.value);
      if (!next[axis].length && event && event.target.name === axis) {
        event.target.checked = true; // one of each is always chosen
        next[axis] = [event.target.value];
      }
    }
    next.differ = form.elements.differ.checked;
    next.q = form.elements.q.value;
    next.cell = state.cell;
    state = next;
  }

  // --- a cell's evidence ---
  function evidence(name, column) {
    const row = ROWS.get(name);
    const cell = row.cells[column];
    const title = TITLES.get(column);
    const out = [
      '<h2 id="afw-ev-title"><code>' + esc(name) + "</code> · " + esc(title) + "</h2>",
      row.meaning ? '<p class="afw-ev-meaning">' + row.meaning + "</p>" : "",
      row.values ? "<p><small>Values: " + row.values + "</small></p>" : "",
    ];
    if (cell.in_process) {
      out.push("<h3>In process</h3><p>" + cell.in_process + '</p><p>The durable twins\' value and its evidence: the ' +
        'Durable column; the move: <a href="../durable/">in-process → durable</a>.</p>');
      return out.join("");
    }
    if (!cell.grid) {
      out.push("<h3>Declared</h3>");
      if (!cell.declared.length) out.push("<p>Nothing is declared for the durable twins here.</p>");
      for (const d of cell.declared) {
        out.push('<div class="afw-ev-decl">' + chips(row, [[cell.label, ""]]) + " (<code>" + esc(d.property) +
          "</code>, <code>durable/expected.toml</code>)<p>" + d.why + "</p>" + sourceLink(d) +
          (d.measured_by ? "<p>Measured by <code>" + esc(d.measured_by) + "</code> (<code>nox -s durable</code>).</p>" : "") +
          '<p><a href="../durable/">in-process → durable</a></p></div>');
      }
      return out.join("");
    }
    out.push("<h3>Declared</h3>");
    cell.declared.forEach((d, index) => {
      const points = Object.entries(cell.grid).filter(([, i]) => i === index).map(([k]) => k.split("@"));
      const all = points.length === DATA.servers.length * DATA.pythons.length;
      const at = all ? "on every server and Python" : where(points, DATA.servers, DATA.pythons);
      const also = Object.entries(d.also || {}).map(([k, v]) => esc(k) + " <code>" + esc(v) + "</code>").join(", ");
      out.push('<div class="afw-ev-decl">' + chips(row, [[d.label, ""]]) + ' <span class="afw-at">' + esc(at) + "</span>" +
        (also ? "<p>Also: " + also + "</p>" : "") +
        (d.tolerance ? "<p>Tolerance: ±" + esc(d.tolerance) + "</p>" : "") +
        (d.why ? "<p>" + d.why + "</p>" : "") + sourceLink(d) +
        "<p>Wrong probe: " + (d.flip ? "<code>" + esc(d.flip) + "</code> (<code>conformance/flips.toml</code>, run by " +
          "<code>nox -s flips</code>: the suite must report the cell as a mismatch)" : "none (not measured)") + "</p></div>");
    });
    out.push("<h3>Measured</h3>");
    if (cell.measured.length) {
      out.push('<table class="afw-ev-table"><thead><tr><th>run</th><th>server</th><th>value</th><th>versions</th></tr></thead><tbody>');
      for (const m of cell.measured) {
        out.push("<tr><td><code>" + esc(m.run) + "</code></td><td>" + esc(m.server) + "</td><td>" + chips(row, [[m.value, ""]]) +
          (m.passed ? " as declared" : " <strong>not as declared</strong>") + "</td><td>" + esc(m.versions) + "</td></tr>");
      }
      out.push("</tbody></table>");
      if (!DATA.runs.some((r) => r.file === "docs/pythons/observed.json")) {
        out.push("<p><small>No sweep over the Pythons is committed yet (<code>nox -s pythons</code> writes " +
          "<code>docs/pythons/observed.json</code>); every <code>nox -s conformance</code> run measures each " +
          "cell on every server again.</small></p>");
      }
    } else {
      out.push("<p>No committed run measured this cell: <code>nox -s conformance</code> does on every run " +
        "(<code>reports/conformance.json</code>), and <code>nox -s pythons</code> commits a sweep over the Pythons.</p>");
    }
    out.push("<h3>Recipes</h3>");
    if (cell.recipes.length) {
      out.push("<ul>");
      for (const r of cell.recipes) {
        const claims = r.claims.map((c) => chips(row, [[c.value, c.servers.length === DATA.servers.length ? "" : "on " + c.servers.join(", ")]]) +
          (c.why ? " " + c.why : "")).join("; ");
        out.push('<li><a href="../recipes/#' + esc(r.name) + '">' + r.title + "</a> (<code>recipes/" + esc(r.file) + "</code>): " + claims + "</li>");
      }
      out.push("</ul>");
    } else {
      out.push("<p>No recipe changes this cell.</p>");
    }
    out.push("<h3>Releases</h3>");
    out.push(cell.history ? cell.history + '<p><a href="../versions/#' + esc(name) + '">every change of this property</a></p>'
      : "<p>No change declared across the measured releases.</p>");
    out.push('<p><a href="../semantics/#' + esc(name) + '">the property\'s table on the semantics page</a></p>');
    return out.join("");
  }

  function sourceLink(d) {
    if (!d.source) return "";
    if (!/^https?:/.test(d.source)) return "<p>Source: " + esc(d.source) + "</p>";
    return '<p>Source: <a href="' + esc(d.source) + '">' + esc(d.source_label) + "</a></p>";
  }

  function open(cell) {
    const [name, column] = cell.split(":");
    body.innerHTML = evidence(name, column);
    if (!dialog.open) dialog.showModal();
    dialog.dataset.cell = cell;
  }

  function apply(next) {
    state = next;
    toForm();
    render();
    if (state.cell) open(state.cell);
    else if (dialog.open) dialog.close();
  }

  filters.hidden = false;
  form.addEventListener("submit", (event) => event.preventDefault());
  form.addEventListener("input", (event) => {
    fromForm(event);
    render();
    remember();
  });
  document.getElementById("afw-reset").addEventListener("click", () => {
    apply(fresh());
    remember();
  });
  table.addEventListener("click", (event) => {
    const button = event.target.closest(".afw-cell");
    if (!button) return;
    state.cell = button.dataset.cell;
    open(state.cell);
    remember();
  });
  dialog.addEventListener("close", () => {
    state.cell = "";
    remember();
  });
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close(); // a click on the backdrop
  });
  window.addEventListener("hashchange", () => {
    const next = decode(location.hash);
    if (next) apply(next);
  });
  apply(decode(location.hash) || fresh());
  // Open where there is room, or where the address chose a view; a phone shows the table first.
  filters.open = window.matchMedia("(min-width: 45em)").matches || encode(Object.assign({}, state, { cell: "" })) !== "";
})();
