/* doc-pipeline review UI: the queue (/review), the review page (/review/<doc_id>) and the read-only viewer
   (/view/<doc_id>). Plain JS, no build step, no dependencies. Every datum comes from the REST API with the token
   kept in sessionStorage; nothing from the API is ever inserted as HTML (textContent only). */
"use strict";

(() => {
  const TOKEN_KEY = "docpipe.token";
  const QUEUE_KEY = "docpipe.queue";      // doc ids in the order the queue showed them (for "next document")
  const DONE_KEY = "docpipe.reviewed";    // doc ids reviewed in this tab (skipped by "next document")
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(e.dataset, v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  function toast(msg, kind = "") {
    const t = $("#toast");
    t.textContent = msg;
    t.className = `toast ${kind}`;
    t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { t.hidden = true; }, 4000);
  }

  const readList = (key) => { try { return JSON.parse(sessionStorage.getItem(key) || "[]"); } catch { return []; } };
  const writeList = (key, list) => sessionStorage.setItem(key, JSON.stringify(list));

  // ---- sign-in --------------------------------------------------------------------------------------------

  const token = () => sessionStorage.getItem(TOKEN_KEY);

  function claims(t) {
    try {
      const b64 = t.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(decodeURIComponent(escape(atob(b64 + "===".slice((b64.length + 3) % 4)))));
    } catch { return {}; }
  }

  const role = () => {
    const c = claims(token() || "");
    return c.role || (Array.isArray(c.roles) ? c.roles[0] : "") || "";
  };

  class AuthError extends Error {}

  function showSignIn(message = "") {
    $("#app").hidden = true;
    $("#signin").hidden = false;
    $("#signout").hidden = true;
    $("#whoami").textContent = "";
    $("#signin-error").textContent = message;
    $("#token-input").focus();
  }

  function signOut(message = "") {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn(message);
  }

  async function api(path, opts = {}) {
    const headers = Object.assign({}, opts.headers || {}, { Authorization: `Bearer ${token()}` });
    const r = await fetch(path, Object.assign({}, opts, { headers }));
    if (r.ok) return r;
    let detail = r.statusText;
    try { const j = await r.json(); detail = typeof j.detail === "string" ? j.detail : JSON.stringify(j.detail); } catch { /* not JSON */ }
    if (r.status === 401) {
      signOut(`The token was refused (${detail}). Paste a valid one.`);
      throw new AuthError(detail);
    }
    throw new Error(`${r.status} ${detail}`);
  }

  function startSignedIn(init) {
    const t = token();
    if (!t) return showSignIn();
    const c = claims(t);
    if (c.exp && c.exp * 1000 < Date.now()) return signOut("That token has expired.");
    $("#signin").hidden = true;
    $("#app").hidden = false;
    $("#signout").hidden = false;
    $("#whoami").textContent = `${c.sub || "?"} (${role() || "no role"})`;
    init().catch((e) => { if (!(e instanceof AuthError)) showError(e); });
  }

  function showError(e) {
    const main = $("#app");
    main.prepend(el("p", { class: "error banner", role: "alert", text: `Could not load: ${e.message || e}` }));
  }

  // ---- helpers ----------------------------------------------------------------------------------------------

  const confClass = (f) => {
    if (f.missing) return "c-missing";
    if (f.source === "human") return "c-human";
    if (f.confidence >= 0.9) return "c-high";
    if (f.confidence >= 0.5) return "c-mid";
    return "c-low";
  };
  const fmtConf = (c) => (c === null || c === undefined ? "—" : Number(c).toFixed(2));
  const parseTime = (s) => (s ? Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s}Z`) : NaN);

  function fmtAge(ms) {
    if (!Number.isFinite(ms)) return "—";
    const m = Math.max(0, Math.round(ms / 60000));
    if (m < 60) return `${m} min`;
    if (m < 48 * 60) return `${Math.round(m / 60)} h`;
    return `${Math.round(m / 1440)} d`;
  }

  function isTyping(e) {
    const t = e.target;
    if (!t || t.readOnly) return false;  // the correction boxes are read-only until c: shortcuts keep working
    return t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable;
  }

  function helpKey(e) {
    const help = $("#help");
    if (e.key === "?" && !isTyping(e)) {
      e.preventDefault();
      if (help.open) help.close(); else help.showModal();
      return true;
    }
    return help.open;  // while the help is open, no other shortcut acts
  }

  async function download(path, filename) {
    const blob = await (await api(path)).blob();
    const a = el("a", { href: URL.createObjectURL(blob), download: filename });
    document.body.append(a);
    a.click();
    a.remove();
  }

  // ---- the queue --------------------------------------------------------------------------------------------

  const queue = { rows: [], shown: [], sort: { key: "age", dir: 1 }, sel: 0 };

  async function loadQueue() {
    const items = [];
    let offset = 0;
    let total = Infinity;
    while (offset < total && offset < 2000) {
      const page = await (await api(`/flagged?limit=200&offset=${offset}`)).json();
      total = page.total;
      items.push(...page.items);
      if (!page.items.length) break;
      offset += page.items.length;
    }
    const now = Date.now();
    queue.rows = items.map((d) => {
      const confs = d.fields.map((f) => f.confidence);
      const low = d.fields.reduce((a, f) => (a === null || f.confidence < a.confidence ? f : a), null);
      const missing = d.flag_reasons.filter((f) => f.code === "missing_field").length;
      return {
        doc_id: d.doc_id, name: d.source_name || d.doc_id, doc_type: d.doc_type || "", applicant_id: d.applicant_id || "",
        reasons: d.flag_reasons.map((f) => f.reason).join("; "), codes: d.flag_reasons.map((f) => f.code),
        min_conf: confs.length ? Math.min(...confs) : null, low_field: low ? low.name : "", missing,
        age: now - parseTime(d.updated_at), status: d.status,
      };
    });
    const types = [...new Set(queue.rows.map((r) => r.doc_type).filter(Boolean))].sort();
    const select = $("#queue-type");
    const current = select.value;
    select.replaceChildren(el("option", { value: "", text: "all types" }),
      ...types.map((t) => el("option", { value: t, text: t })));
    select.value = types.includes(current) ? current : "";
    renderQueue();
  }

  function renderQueue() {
    const q = $("#queue-filter").value.trim().toLowerCase();
    const type = $("#queue-type").value;
    const { key, dir } = queue.sort;
    const val = (r) => (key === "min_conf" ? (r.min_conf === null ? -1 : r.min_conf) : r[key]);
    queue.shown = queue.rows
      .filter((r) => !type || r.doc_type === type)
      .filter((r) => !q || [r.name, r.doc_id, r.doc_type, r.applicant_id, r.reasons].join(" ").toLowerCase().includes(q))
      .sort((a, b) => {
        const x = val(a);
        const y = val(b);
        const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
        return c * dir || a.doc_id.localeCompare(b.doc_id);
      });
    queue.sel = Math.min(queue.sel, Math.max(0, queue.shown.length - 1));
    writeList(QUEUE_KEY, queue.shown.map((r) => r.doc_id));
    for (const th of $$("#queue-table th")) {
      th.setAttribute("aria-sort", th.dataset.sort === key ? (dir > 0 ? "ascending" : "descending") : "none");
    }
    const body = $("#queue-table tbody");
    body.replaceChildren(...queue.shown.map((r, i) => el("tr", {
      class: i === queue.sel ? "selected" : "", dataset: { docId: r.doc_id },
      onclick: () => { queue.sel = i; openSelected(); },
    },
    el("td", {}, el("a", { href: `/review/${encodeURIComponent(r.doc_id)}`, class: "docname", text: r.name }),
      el("div", { class: "muted small", text: r.doc_id })),
    el("td", { text: r.doc_type || "—" }),
    el("td", { text: r.applicant_id || "—" }),
    el("td", { class: "reasons" }, ...r.codes.map((c) => el("span", { class: `tag ${c}`, text: c.replace(/_/g, " ") })),
      el("div", { class: "small", text: r.reasons })),
    el("td", {}, el("span", { class: `conf ${confClass({ confidence: r.min_conf ?? 1 })}`, text: fmtConf(r.min_conf) }),
      el("span", { class: "muted small", text: ` ${r.low_field}` })),
    el("td", { class: "age", text: fmtAge(r.age) }))));
    $("#queue-empty").hidden = queue.shown.length > 0;
    $("#queue-count").textContent = `${queue.shown.length} of ${queue.rows.length}`;
  }

  function openSelected() {
    const r = queue.shown[queue.sel];
    if (r) location.href = `/review/${encodeURIComponent(r.doc_id)}`;
  }

  function moveQueue(d) {
    if (!queue.shown.length) return;
    queue.sel = Math.max(0, Math.min(queue.shown.length - 1, queue.sel + d));
    renderQueue();
    const row = $("#queue-table tbody tr.selected");
    if (row) row.scrollIntoView({ block: "nearest" });
  }

  function initQueuePage() {
    for (const th of $$("#queue-table th")) {
      th.querySelector("button").addEventListener("click", () => {
        const key = th.dataset.sort;
        queue.sort = { key, dir: queue.sort.key === key ? -queue.sort.dir : 1 };
        renderQueue();
      });
    }
    $("#queue-filter").addEventListener("input", () => { queue.sel = 0; renderQueue(); });
    $("#queue-type").addEventListener("change", () => { queue.sel = 0; renderQueue(); });
    $("#queue-refresh").addEventListener("click", () => loadQueue());
    document.addEventListener("keydown", (e) => {
      if (helpKey(e)) return;
      if (isTyping(e)) {
        if (e.key === "Escape" || (e.key === "Enter" && e.target.id === "queue-filter")) e.target.blur();
        return;
      }
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const keys = {
        j: () => moveQueue(1), ArrowDown: () => moveQueue(1), k: () => moveQueue(-1), ArrowUp: () => moveQueue(-1),
        Enter: openSelected, o: openSelected, n: openSelected, g: () => loadQueue(),
        "/": () => $("#queue-filter").focus(),
      };
      if (keys[e.key]) { e.preventDefault(); keys[e.key](); }
    });
    startSignedIn(loadQueue);
  }

  // ---- one document: review and view ------------------------------------------------------------------------

  const doc = { id: "", mode: "review", result: null, fields: [], sel: -1, zoom: 1, pages: [], submitted: false };

  function buildFields(result) {
    const count = {};
    for (const f of result.fields) count[f.name] = (count[f.name] || 0) + 1;
    const seen = {};
    const fields = result.fields.map((f) => {
      const ordinal = seen[f.name] = (seen[f.name] ?? -1) + 1;
      return Object.assign({}, f, { ordinal, multi: count[f.name] > 1, decision: null, picked: [] });
    });
    // required fields the extractor did not find: the reviewer can fill them from the page
    for (const flag of result.flags) {
      if (flag.code === "missing_field" && flag.field && !count[flag.field]) {
        fields.push({ name: flag.field, value: "", confidence: null, page_no: null, bbox: null, source: "",
          missing: true, ordinal: 0, multi: false, decision: null, picked: [] });
        count[flag.field] = 1;
      }
    }
    const flagged = new Set(result.flags.map((f) => f.field).filter(Boolean));
    for (const f of fields) f.flagged = flagged.has(f.name);
    return fields;
  }

  function pct(v, total) { return `${(100 * v) / total}%`; }

  function place(node, bbox, page) {
    const [x0, y0, x1, y1] = bbox;
    node.style.left = pct(x0, page.width);
    node.style.top = pct(y0, page.height);
    node.style.width = pct(Math.max(0.5, x1 - x0), page.width);
    node.style.height = pct(Math.max(0.5, y1 - y0), page.height);
    return node;
  }

  function renderPages() {
    const pagesEl = $("#pages");
    const thumbs = $("#thumbs");
    pagesEl.replaceChildren();
    thumbs.replaceChildren();
    const result = doc.result;
    let pages = result.pages;
    if (!pages.length && result.meta && result.meta.page_count) {  // images but no text yet
      pages = Array.from({ length: result.meta.page_count }, (_, i) => ({ page_no: i + 1, width: 612, height: 792, words: [], blocks: [] }));
    }
    doc.pages = pages;
    for (const page of pages) {
      const overlay = el("div", { class: "overlay" });
      const img = el("img", { alt: `page ${page.page_no}`, draggable: "false" });
      const box = el("section", { class: "page", id: `page-${page.page_no}`, dataset: { pageNo: page.page_no } },
        img, overlay, el("div", { class: "page-label", text: `page ${page.page_no}` }));
      box.style.aspectRatio = `${page.width} / ${page.height}`;
      pagesEl.append(box);
      if (doc.mode === "view") {
        for (const b of page.blocks || []) {
          overlay.append(place(el("div", { class: `block b-${b.type}`, title: `${b.type} ${Number(b.score).toFixed(2)}` },
            el("span", { class: "block-label", text: `${b.order + 1}·${b.type}` })), b.bbox, page));
        }
        for (const t of result.tables.filter((t) => t.page_no === page.page_no && t.bbox)) {
          overlay.append(place(el("div", { class: "tbox", title: `table ${t.index}` }), t.bbox, page));
        }
      }
      // the text layer's letters are sized from their line's height (a word with descenders has a taller box)
      const lineHeight = {};
      for (const w of page.words || []) {
        const key = `${w.block}:${w.line}`;
        lineHeight[key] = Math.max(lineHeight[key] || 0, w.bbox[3] - w.bbox[1]);
      }
      // words inside a masked field's box are not shown as text (the API masks the field; the image is redacted)
      const hidden = doc.fields.filter((f) => f.bbox && f.page_no === page.page_no && String(f.value).includes("*")).map((f) => f.bbox);
      const inside = (b, o) => b[0] >= o[0] - 1 && b[2] <= o[2] + 1 && b[1] >= o[1] - 1 && b[3] <= o[3] + 1;
      (page.words || []).forEach((w, i) => {
        const text = hidden.some((o) => inside(w.bbox, o)) ? w.text.replace(/[A-Za-z0-9]/g, "*") : w.text;
        const node = place(el("span", { class: "word", dataset: { i, page: page.page_no, h: lineHeight[`${w.block}:${w.line}`] },
          title: `${text} (${fmtConf(w.conf)})` }), w.bbox, page);
        node.append(el("span", { class: "wt", text }));
        overlay.append(node);
      });
      doc.fields.forEach((f, i) => {
        if (f.bbox && f.page_no === page.page_no) {
          overlay.append(place(el("div", { class: `fbox ${confClass(f)}`, dataset: { field: i } },
            el("span", { class: "flabel", text: f.name })), f.bbox, page));
        }
      });
      if (doc.mode === "review") wirePicking(overlay, page);
      const thumbImg = el("img", { alt: "" });
      thumbs.append(el("button", { type: "button", class: "thumb", dataset: { pageNo: page.page_no },
        onclick: () => box.scrollIntoView({ block: "start" }) }, thumbImg, el("span", { text: String(page.page_no) })));
      loadImage(page.page_no, [img, thumbImg]);
    }
    applyZoom();
  }

  async function loadImage(n, imgs) {
    try {
      const blob = await (await api(`/result/${encodeURIComponent(doc.id)}/pages/${n}.png`)).blob();
      const url = URL.createObjectURL(blob);
      for (const i of imgs) i.src = url;
    } catch (e) {
      if (e instanceof AuthError) return;
      imgs[0].closest(".page").classList.add("no-image");
      imgs[0].alt = `page ${n}: no image (${e.message})`;
    }
  }

  function applyZoom() {
    const pagesEl = $("#pages");
    const fit = Math.max(200, pagesEl.clientWidth - 40);
    const width = Math.round(fit * doc.zoom);
    for (const p of $$(".page", pagesEl)) {
      p.style.width = `${width}px`;
      const page = doc.pages.find((x) => String(x.page_no) === p.dataset.pageNo);
      if (doc.mode !== "view") continue;  // only the viewer shows the text layer
      const scale = width / page.width;  // screen px per PDF point
      const spans = $$(".word .wt", p);
      for (const w of spans) {
        w.style.transform = "";
        w.style.fontSize = `${Math.max(4, Number(w.parentElement.dataset.h) * scale * 0.8)}px`;
      }
      // then stretch each word to its box, as PDF viewers do, so a selection covers what it shows
      const widths = spans.map((w) => [w.offsetWidth, w.parentElement.clientWidth]);
      spans.forEach((w, i) => { const [n, t] = widths[i]; if (n > 0) w.style.transform = `scaleX(${t / n})`; });
    }
    $("#zoom-level").textContent = `${Math.round(doc.zoom * 100)}%`;
  }

  function zoom(f) {
    doc.zoom = f === 0 ? 1 : Math.max(0.25, Math.min(5, doc.zoom * f));
    applyZoom();
  }

  function renderFields() {
    const list = $("#fields");
    list.replaceChildren(...doc.fields.map((f, i) => {
      const d = f.decision;
      const children = [
        el("div", { class: "frow" },
          el("span", { class: "fname", text: f.multi ? `${f.name} #${f.ordinal + 1}` : f.name }),
          f.flagged ? el("span", { class: "tag", text: "flagged" }) : null,
          el("span", { class: "spacer" }),
          el("span", { class: `conf ${confClass(f)}`, text: f.missing ? "missing" : (f.source === "human" ? "human" : fmtConf(f.confidence)) }),
          f.page_no ? el("span", { class: "muted small", text: ` p${f.page_no}` }) : null),
        el("div", { class: `fvalue${f.missing ? " muted" : ""}`, text: f.missing ? "(not found)" : f.value }),
      ];
      if (doc.mode === "review") {
        // a correction is a click on the page; typing is the exception (c makes the box editable)
        const input = el("input", { class: "corr", type: "text", placeholder: "correction: click words on the page",
          "aria-label": `correction for ${f.name}`, readonly: true, value: d && d.action === "correct" ? d.value : "" });
        input.addEventListener("blur", () => { input.readOnly = true; });
        input.addEventListener("input", () => { f.decision = { action: "correct", value: input.value }; updateDecisionMarks(); });
        input.addEventListener("focus", () => selectField(i, false));
        input.addEventListener("keydown", (e) => {
          if (e.key === "Enter") { e.preventDefault(); e.stopPropagation(); input.blur(); }  // leaves the box, no submit
        });
        children.push(el("div", { class: "fcorr" }, input));
        children.push(el("div", { class: "fbtns" },
          ...["accept", "correct", "reject"].map((a) => el("button", { type: "button", class: `act act-${a}`, dataset: { act: a },
            onclick: (e) => { e.stopPropagation(); selectField(i, false); decide(a); } }, a[0].toUpperCase() + a.slice(1)))));
      }
      return el("li", { class: "field", dataset: { i, name: f.name }, onclick: () => selectField(i) }, ...children);
    }));
    updateDecisionMarks();
  }

  function updateDecisionMarks() {
    $$("#fields li").forEach((li, i) => {
      const f = doc.fields[i];
      li.classList.toggle("selected", i === doc.sel);
      for (const a of ["accept", "correct", "reject"]) li.classList.toggle(`d-${a}`, !!f.decision && f.decision.action === a);
      const input = li.querySelector("input.corr");
      if (input && document.activeElement !== input) input.value = f.decision && f.decision.action === "correct" ? f.decision.value : "";
    });
    $$(".fbox").forEach((b) => b.classList.toggle("active", Number(b.dataset.field) === doc.sel));
    $$(".word.picked").forEach((w) => w.classList.remove("picked"));
    const f = doc.fields[doc.sel];
    if (f) for (const [p, i] of f.picked) { const w = $(`.word[data-page="${p}"][data-i="${i}"]`); if (w) w.classList.add("picked"); }
    const n = doc.fields.filter((x) => x.decision).length;
    const count = $("#decision-count");
    if (count) count.textContent = `${n} of ${doc.fields.length} fields decided`;
  }

  function selectField(i, scroll = true) {
    if (!doc.fields.length) return;
    doc.sel = Math.max(0, Math.min(doc.fields.length - 1, i));
    updateDecisionMarks();
    const li = $$("#fields li")[doc.sel];
    if (li) li.scrollIntoView({ block: "nearest" });
    if (!scroll) return;
    const box = $(`.fbox[data-field="${doc.sel}"]`);
    if (box) {
      box.scrollIntoView({ block: "center", inline: "center" });
      box.classList.remove("pulse");
      void box.offsetWidth;  // restart the highlight animation
      box.classList.add("pulse");
    }
  }

  function decide(action) {
    const f = doc.fields[doc.sel];
    if (!f) return toast("Select a field first (j / k)");
    if (action === "correct") {
      f.decision = { action, value: f.decision && f.decision.action === "correct" ? f.decision.value : (f.value || "") };
      updateDecisionMarks();
      const input = $$("#fields li")[doc.sel].querySelector("input.corr");
      input.value = f.decision.value;
      input.readOnly = false;
      input.focus();
      input.select();
      return;
    }
    if (f.missing && action === "accept") return toast("Nothing to accept: pick the value on the page (click words)");
    f.decision = { action };
    f.picked = [];
    updateDecisionMarks();
    selectField(doc.sel + 1 < doc.fields.length ? doc.sel + 1 : doc.sel);
  }

  // clicking a word sets the selected field's correction; shift-click adds it; dragging a rectangle takes every
  // word inside, in reading order
  function wirePicking(overlay, page) {
    let start = null;
    let marquee = null;
    const pos = (e) => {
      const r = overlay.getBoundingClientRect();
      return [((e.clientX - r.left) / r.width) * page.width, ((e.clientY - r.top) / r.height) * page.height];
    };
    overlay.addEventListener("mousedown", (e) => {
      if (e.button !== 0) return;
      e.preventDefault();
      start = pos(e);
    });
    overlay.addEventListener("mousemove", (e) => {
      if (!start) return;
      const [x, y] = pos(e);
      if (!marquee && Math.hypot(x - start[0], y - start[1]) < 3) return;
      if (!marquee) { marquee = el("div", { class: "marquee" }); overlay.append(marquee); }
      place(marquee, [Math.min(x, start[0]), Math.min(y, start[1]), Math.max(x, start[0]), Math.max(y, start[1])], page);
    });
    const finish = (e) => {
      if (!start) return;
      const [x, y] = pos(e);
      let picked = [];
      if (marquee) {
        const [ax, ay, bx, by] = [Math.min(x, start[0]), Math.min(y, start[1]), Math.max(x, start[0]), Math.max(y, start[1])];
        picked = page.words.map((w, i) => [w, i]).filter(([w]) => w.bbox[0] < bx && w.bbox[2] > ax && w.bbox[1] < by && w.bbox[3] > ay).map(([, i]) => i);
        marquee.remove();
        marquee = null;
      } else {
        const word = e.target.closest(".word");
        if (word) picked = [Number(word.dataset.i)];
      }
      start = null;
      if (picked.length) pickWords(page, picked, e.shiftKey);
    };
    overlay.addEventListener("mouseup", finish);
    overlay.addEventListener("mouseleave", (e) => { if (marquee) finish(e); start = null; });
  }

  function pickWords(page, indexes, append) {
    const f = doc.fields[doc.sel];
    if (!f) return toast("Select a field first (j / k), then click the words of its value");
    const keep = append && f.decision && f.decision.action === "correct" ? f.picked : [];
    const all = [...keep];
    for (const i of indexes) if (!all.some(([p, j]) => p === page.page_no && j === i)) all.push([page.page_no, i]);
    const words = all.map(([p, i]) => [p, doc.pages.find((x) => x.page_no === p).words[i]]);
    const order = (a, b) => a[0] - b[0] || a[1].block - b[1].block || a[1].line - b[1].line || a[1].bbox[0] - b[1].bbox[0];
    const sorted = all.map((k, n) => [k, words[n]]).sort((a, b) => order(a[1], b[1]));
    f.picked = sorted.map(([k]) => k);
    f.decision = { action: "correct", value: sorted.map(([, w]) => w[1].text).join(" ") };
    const input = $$("#fields li")[doc.sel].querySelector("input.corr");
    if (input) input.value = f.decision.value;  // also while the box has focus (a click is the correction)
    if (document.activeElement && document.activeElement.matches("input, textarea")) document.activeElement.blur();
    updateDecisionMarks();
  }

  async function submitReview() {
    if (doc.submitted) return toast("Already submitted; press n for the next document");
    const decided = doc.fields.filter((f) => f.decision);
    if (!decided.length) return toast("Nothing decided yet: accept, correct or reject at least one field", "warn");
    const empty = decided.find((f) => f.decision.action === "correct" && !String(f.decision.value).trim());
    if (empty) return toast(`The correction of ${empty.name} is empty`, "warn");
    const body = {
      decisions: decided.map((f) => Object.assign({ name: f.name, action: f.decision.action },
        f.multi ? { ordinal: f.ordinal } : {}, f.decision.action === "correct" ? { value: f.decision.value.trim() } : {})),
      comment: $("#comment").value.trim() || null,
    };
    const button = $("#submit-review");
    button.disabled = true;
    try {
      const r = await (await api(`/human_review/${encodeURIComponent(doc.id)}`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })).json();
      doc.submitted = true;
      writeList(DONE_KEY, [...new Set([...readList(DONE_KEY), doc.id])]);
      $("#submit-status").textContent = `Submitted: review #${r.review_id}; fields will be re-extracted (task #${r.reprocess.task_id}). Press n for the next document.`;
      $("#submit-status").className = "ok";
      button.textContent = "Submitted";
    } catch (e) {
      button.disabled = false;
      if (!(e instanceof AuthError)) toast(`Submit failed: ${e.message}`, "warn");
    }
  }

  async function nextDocument() {
    const done = new Set([...readList(DONE_KEY), doc.id]);
    const order = readList(QUEUE_KEY);
    const here = order.indexOf(doc.id);
    let next = [...order.slice(here + 1), ...order.slice(0, Math.max(0, here))].find((id) => !done.has(id));
    if (!next) {
      try {
        const page = await (await api("/flagged?limit=200")).json();
        next = page.items.map((d) => d.doc_id).find((id) => !done.has(id));
      } catch { /* fall through to the queue */ }
    }
    location.href = next ? `/review/${encodeURIComponent(next)}` : "/review";
  }

  function renderTables() {
    const holder = $("#tables");
    const tables = doc.result.tables;
    if (!tables.length) return holder.replaceChildren(el("p", { class: "muted small", text: "No tables." }));
    holder.replaceChildren(...tables.map((t) => {
      const [head, ...rest] = t.rows;
      return el("figure", { class: "table" },
        el("figcaption", {}, `Table ${t.index + 1} · page ${t.page_no}${t.method ? ` · ${t.method}` : ""} `,
          t.csv_key ? el("button", { type: "button", class: "link", text: "CSV",
            onclick: () => download(`/result/${encodeURIComponent(doc.id)}/tables/${t.index}.csv`, `${doc.id}-table-${t.index}.csv`) }) : null,
          t.bbox ? el("button", { type: "button", class: "link", text: "show",
            onclick: () => { const p = $(`#page-${t.page_no}`); if (p) p.scrollIntoView({ block: "start" }); } }) : null),
        el("div", { class: "scroll" }, el("table", { class: "grid data" },
          head ? el("thead", {}, el("tr", {}, ...head.map((c) => el("th", { text: c })))) : null,
          el("tbody", {}, ...rest.map((row) => el("tr", {}, ...row.map((c) => el("td", { text: c }))))))));
    }));
  }

  async function loadDocument() {
    const r = await (await api(`/result/${encodeURIComponent(doc.id)}`)).json();
    doc.result = r;
    doc.fields = buildFields(r);
    $("#doc-title").textContent = r.source_name || r.doc_id;
    const meta = r.meta || {};
    $("#doc-meta").textContent = [r.doc_type, r.status, r.kind, `${r.pages.length || meta.page_count || 0} page(s)`,
      meta.applicant_id ? `applicant ${meta.applicant_id}` : null].filter(Boolean).join(" · ");
    $("#doc-flags").replaceChildren(...r.flags.map((f) => el("span", { class: `tag ${f.code}`, text: f.reason })));
    renderPages();
    renderFields();
    renderTables();
    $("#json-link").addEventListener("click", async (e) => {
      e.preventDefault();
      const blob = await (await api(`/result/${encodeURIComponent(doc.id)}`)).blob();
      window.open(URL.createObjectURL(new Blob([blob], { type: "application/json" })), "_blank");
    });
    if (doc.mode === "review") {
      const first = doc.fields.findIndex((f) => f.flagged);
      selectField(first >= 0 ? first : 0);
    }
    document.body.dataset.loaded = "true";
  }

  function toggle(id) {
    const box = $(`#${id}`);
    if (!box) return;
    box.checked = !box.checked;
    box.dispatchEvent(new Event("change"));
  }

  function scrollPage(d) {
    const pagesEl = $("#pages");
    const all = $$(".page", pagesEl);
    const top = pagesEl.scrollTop;
    const current = all.findIndex((p) => p.offsetTop + p.offsetHeight / 2 > top);
    const target = all[Math.max(0, Math.min(all.length - 1, (current < 0 ? 0 : current) + d))];
    if (target) target.scrollIntoView({ block: "start" });
  }

  function initDocumentPage(mode) {
    doc.id = document.body.dataset.docId;
    doc.mode = mode;
    const pagesEl = $("#pages");
    const classToggle = (id, cls) => {
      const box = $(`#${id}`);
      if (!box) return;
      const apply = () => pagesEl.classList.toggle(cls, box.checked);
      box.addEventListener("change", apply);
      apply();
    };
    classToggle("show-words", "show-words");
    classToggle("show-text", "show-text");
    classToggle("show-blocks", "show-blocks");
    $("#zoom-in").addEventListener("click", () => zoom(1.25));
    $("#zoom-out").addEventListener("click", () => zoom(0.8));
    $("#zoom-fit").addEventListener("click", () => zoom(0));
    window.addEventListener("resize", () => { if (doc.result) applyZoom(); });
    if (mode === "review") {
      $("#submit-review").addEventListener("click", submitReview);
      $("#next-doc").addEventListener("click", nextDocument);
    }
    document.addEventListener("keydown", (e) => {
      if (helpKey(e)) return;
      if (isTyping(e)) {
        if (e.key === "Escape") e.target.blur();
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && mode === "review") { e.preventDefault(); e.target.blur(); submitReview(); }
        return;
      }
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const common = {
        "+": () => zoom(1.25), "=": () => zoom(1.25), "-": () => zoom(0.8), 0: () => zoom(0),
        w: () => toggle("show-words"), "[": () => scrollPage(-1), "]": () => scrollPage(1),
        j: () => selectField(doc.sel + 1), k: () => selectField(doc.sel - 1),
      };
      const review = {
        ArrowDown: () => selectField(doc.sel + 1), ArrowUp: () => selectField(doc.sel - 1),
        a: () => decide("accept"), r: () => decide("reject"), c: () => decide("correct"),
        u: () => { const f = doc.fields[doc.sel]; if (f) { f.decision = null; f.picked = []; updateDecisionMarks(); } },
        Enter: submitReview, n: nextDocument, q: () => { location.href = "/review"; },
      };
      const view = { t: () => toggle("show-text"), b: () => toggle("show-blocks") };
      const action = common[e.key] || (mode === "review" ? review : view)[e.key];
      if (action) { e.preventDefault(); action(); }
    });
    startSignedIn(loadDocument);
  }

  // ---- boot -------------------------------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", () => {
    $("#signin-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const t = $("#token-input").value.trim().replace(/^Bearer\s+/i, "");
      if (t.split(".").length !== 3) { $("#signin-error").textContent = "That does not look like a JWT (three dot-separated parts)."; return; }
      sessionStorage.setItem(TOKEN_KEY, t);
      $("#token-input").value = "";
      location.reload();
    });
    $("#signout").addEventListener("click", () => signOut("Signed out."));
    $("#help-button").addEventListener("click", () => $("#help").showModal());
    const page = document.body.dataset.page;
    if (page === "queue") initQueuePage();
    else if (page === "review" || page === "view") initDocumentPage(page);
  });
})();
