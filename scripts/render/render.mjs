// Renders a tailgate PR comment as GitHub does and checks it in the DOM.
//
// usage: node render.mjs COMMENT.md OUT_DIR
//
// The markdown is converted by cmark-gfm (GFM extensions table, strikethrough,
// autolink, tagfilter; raw HTML kept as GitHub keeps <details>, <sub>, <br>),
// wrapped in a page with GitHub-like CSS 900 px wide, its ```mermaid blocks drawn by
// mermaid 11 loaded from node_modules (no network: every non-file request is
// aborted), opened in headless Chromium (/usr/bin/chromium) and screenshot to
// OUT_DIR/comment.png. Then, in the DOM:
//   1. the verdict heading (the first h3) starts within the first 200 px;
//   2. every chart has a legend (or its series named as text) and no two distinct
//      series' bars coincide or overlap (bounding boxes);
//   3. no table cell wraps a `[`…`]` interval away from its number: the text from
//      the number before `[` to the closing `]` lies on one line (client rects).
// Exits 1 with one line per failed check.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const [mdPath, outArg] = process.argv.slice(2);
if (!mdPath || !outArg) {
  console.error("usage: node render.mjs COMMENT.md OUT_DIR");
  process.exit(2);
}
const outDir = resolve(outArg);
mkdirSync(outDir, { recursive: true });

const markdown = readFileSync(mdPath, "utf8");
const body = execFileSync(
  "cmark-gfm",
  ["--unsafe", "--github-pre-lang", "-e", "table", "-e", "strikethrough", "-e", "autolink", "-e", "tagfilter"],
  { input: markdown, encoding: "utf8" },
);
const mermaidJs = pathToFileURL(join(here, "node_modules/mermaid/dist/mermaid.min.js")).href;

// GitHub's markdown-body, the parts a comment uses.
const css = `
body { margin: 0; background: #fff; }
.markdown-body { box-sizing: border-box; width: 900px; padding: 16px;
  /* GitHub's stack, then DejaVu Sans (Debian's): without a text font named,
     Chromium here took digits and spaces from the emoji font (wide, spaced). */
  font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial,
    "DejaVu Sans", sans-serif, "Apple Color Emoji", "Segoe UI Emoji", "Noto Color Emoji";
  font-size: 14px; line-height: 1.5; color: #1f2328; word-wrap: break-word; }
.markdown-body h3 { font-size: 1.25em; font-weight: 600; line-height: 1.25; margin: 0 0 16px; }
.markdown-body h4 { font-size: 1em; font-weight: 600; margin: 24px 0 16px; }
.markdown-body p, .markdown-body ul, .markdown-body table, .markdown-body pre,
.markdown-body details, .markdown-body blockquote { margin: 0 0 16px; }
.markdown-body code { padding: .2em .4em; font-size: 85%; background: rgba(175,184,193,.2); border-radius: 6px;
  font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace; }
.markdown-body pre { padding: 16px; background: #f6f8fa; border-radius: 6px; overflow: auto; }
.markdown-body pre code { padding: 0; background: none; }
.markdown-body table { display: block; width: max-content; max-width: 100%; overflow: auto; border-spacing: 0;
  border-collapse: collapse; }
.markdown-body table th { font-weight: 600; }
.markdown-body table th, .markdown-body table td { padding: 6px 13px; border: 1px solid #d1d9e0; }
.markdown-body table tr:nth-child(2n) { background: #f6f8fa; }
.markdown-body sub { font-size: 75%; }
.markdown-body blockquote { padding: 0 1em; color: #59636e; border-left: .25em solid #d1d9e0; }
.markdown-body summary { cursor: pointer; }
`;

const page = `<!doctype html>
<html><head><meta charset="utf-8"><title>tailgate comment</title>
<style>${css}</style>
<script src="${mermaidJs}"></script>
</head><body><article class="markdown-body">${body}</article></body></html>`;

const htmlPath = join(outDir, "comment.html");
writeFileSync(htmlPath, page);

const profile = mkdtempSync(join(tmpdir(), "tailgate-render-"));
// A fresh profile (--user-data-dir, which playwright takes as this argument).
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  viewport: { width: 900, height: 800 },
  deviceScaleFactor: 1,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const failures = [];
const measured = {};
try {
  const tab = ctx.pages()[0] ?? (await ctx.newPage());
  await tab.route("**/*", (route) =>
    route.request().url().startsWith("file:") ? route.continue() : route.abort(),
  );
  tab.on("pageerror", (e) => failures.push(`page error: ${e.message}`));
  await tab.goto(pathToFileURL(htmlPath).href);

  // 1. The verdict heading, before anything is opened or drawn.
  measured.verdict = await tab.evaluate(() => {
    const h = document.querySelector(".markdown-body h3");
    return h ? { text: h.textContent.trim(), top: h.getBoundingClientRect().top } : null;
  });
  if (!measured.verdict) failures.push("no verdict heading (h3) in the comment");
  else if (measured.verdict.top > 200)
    failures.push(`the verdict heading starts at ${measured.verdict.top} px, past the first 200 px`);

  // Draw the charts: cmark-gfm writes <pre lang="mermaid"><code> with
  // --github-pre-lang, <pre><code class="language-mermaid"> without.
  const charts = await tab.evaluate(async () => {
    const blocks = [
      ...document.querySelectorAll('pre[lang="mermaid"], pre > code.language-mermaid'),
    ].map((el) => (el.tagName === "PRE" ? el : el.parentElement));
    for (const pre of blocks) {
      const div = document.createElement("div");
      div.className = "mermaid";
      div.textContent = pre.textContent;
      pre.replaceWith(div);
    }
    if (blocks.length === 0) return 0;
    window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "default" });
    await window.mermaid.run({ querySelector: ".mermaid" });
    return blocks.length;
  });
  measured.charts = charts;
  // Open every <details> so the screenshot and the table checks see everything.
  await tab.evaluate(() => document.querySelectorAll("details").forEach((d) => (d.open = true)));

  // 2. Charts: legend, series apart.
  const chartReport = await tab.evaluate(() =>
    [...document.querySelectorAll(".mermaid svg")].map((svg) => {
      const text = (sel) => [...svg.querySelectorAll(sel)].map((t) => t.textContent.trim()).filter(Boolean);
      const legend = text(".legend text, g.legend text");
      const series = [...svg.querySelectorAll("g.bar-plot-0, g.bar-plot-1, g.bar-plot-2, g.bar-plot-3, g.line-plot-0, g.line-plot-1, g.line-plot-2, g.line-plot-3")];
      const bars = {};
      for (const g of svg.querySelectorAll('g[class^="bar-plot-"]')) {
        bars[g.getAttribute("class")] = [...g.querySelectorAll("rect")].map((r) => {
          const b = r.getBoundingClientRect();
          return { x: b.x, y: b.y, w: b.width, h: b.height };
        });
      }
      const lines = {};
      for (const g of svg.querySelectorAll('g[class^="line-plot-"]')) {
        lines[g.getAttribute("class")] = [...g.querySelectorAll("path")].map((p) => {
          const b = p.getBoundingClientRect();
          return { x: b.x, y: b.y, w: b.width, h: b.height };
        });
      }
      return { legend, seriesGroups: series.length, bars, lines, allText: text("text") };
    }),
  );
  measured.chartDetails = chartReport.map((c) => ({
    legend: c.legend,
    bars: Object.fromEntries(Object.entries(c.bars).map(([k, v]) => [k, v.length])),
    lines: Object.keys(c.lines),
  }));
  const overlap = (a, b) => {
    const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
    const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
    return w > 0.5 && h > 0.5 ? w * h : 0;
  };
  const same = (a, b) =>
    Math.abs(a.x - b.x) < 0.5 && Math.abs(a.y - b.y) < 0.5 && Math.abs(a.w - b.w) < 0.5 && Math.abs(a.h - b.h) < 0.5;
  chartReport.forEach((c, i) => {
    const names = [...Object.keys(c.bars), ...Object.keys(c.lines)];
    if (names.length === 0) failures.push(`chart ${i + 1}: no series drawn`);
    if (names.length > 1 && c.legend.length < names.length)
      failures.push(
        `chart ${i + 1}: ${names.length} series but a legend of ${c.legend.length} entries (${JSON.stringify(c.legend)})`,
      );
    const barSeries = Object.entries(c.bars);
    for (let s = 0; s < barSeries.length; s++)
      for (let t = s + 1; t < barSeries.length; t++)
        for (const a of barSeries[s][1])
          for (const b of barSeries[t][1])
            if (overlap(a, b) > 0)
              failures.push(`chart ${i + 1}: a bar of ${barSeries[s][0]} overlaps a bar of ${barSeries[t][0]}`);
    const all = [...Object.entries(c.bars), ...Object.entries(c.lines)];
    for (let s = 0; s < all.length; s++)
      for (let t = s + 1; t < all.length; t++)
        for (const a of all[s][1])
          for (const b of all[t][1])
            if (same(a, b)) failures.push(`chart ${i + 1}: ${all[s][0]} and ${all[t][0]} are drawn on top of each other`);
    // Bars stand on the x axis, not below it.
    for (const [name, rects] of Object.entries(c.bars)) {
      const bottoms = rects.map((r) => r.y + r.h);
      if (bottoms.length && Math.max(...bottoms) - Math.min(...bottoms) > 1)
        failures.push(`chart ${i + 1}: the bars of ${name} do not share one baseline`);
    }
  });
  if (/```mermaid/.test(markdown) && charts === 0) failures.push("the comment has a mermaid block that was not drawn");

  // 3. Intervals in table cells stay on one line with their number.
  const cells = await tab.evaluate(() => {
    const out = [];
    for (const cell of document.querySelectorAll(".markdown-body td")) {
      const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const s = node.textContent;
        // The number before the bracket (with its unit), the bracket, its end.
        const re = /[+−\-×]?\d[\d.,]*(?:[\s\u00a0]?%)?[\s\u00a0]?\[[^\]]*\]/g;
        for (let m = re.exec(s); m; m = re.exec(s)) {
          const range = document.createRange();
          range.setStart(node, m.index);
          range.setEnd(node, m.index + m[0].length);
          const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
          out.push({ text: m[0], lines: tops.size });
        }
      }
    }
    return out;
  });
  measured.intervals = cells.length;
  measured.intervalsOnOneLine = cells.filter((c) => c.lines === 1).length;
  for (const c of cells)
    if (c.lines !== 1) failures.push(`a table cell wraps "${c.text}" over ${c.lines} lines at 900 px`);
  if (/\|[^\n]*\[[^\n]*\]/.test(markdown) && cells.length === 0)
    failures.push("the tables hold [..] intervals but none was found in the rendered cells");

  // 4. The verdict of each endpoint is in view: the first table's `gate`
  // column lies within the 900 px, whatever the table holds to its right.
  measured.gate = await tab.evaluate(() => {
    const table = document.querySelector(".markdown-body table");
    if (!table) return null;
    const heads = [...table.querySelectorAll("th")];
    const gate = heads.find((th) => th.textContent.trim() === "gate");
    if (!gate) return { found: false };
    const right = gate.getBoundingClientRect().right;
    const visible = table.getBoundingClientRect().left + table.clientWidth;
    return { found: true, right: Math.round(right), visible: Math.round(visible) };
  });
  if (measured.gate && !measured.gate.found) failures.push("the endpoint table has no gate column");
  else if (measured.gate && measured.gate.right > measured.gate.visible)
    failures.push(
      `the gate column ends at ${measured.gate.right} px, past the table's visible ${measured.gate.visible} px at 900 px`,
    );

  await tab.screenshot({ path: join(outDir, "comment.png"), fullPage: true });
} finally {
  await ctx.close();
  rmSync(profile, { recursive: true, force: true });
}

writeFileSync(join(outDir, "checks.json"), JSON.stringify({ measured, failures }, null, 2) + "\n");
console.log(`render-comment: ${JSON.stringify(measured)}`);
console.log(`render-comment: screenshot ${join(outDir, "comment.png")}`);
if (failures.length) {
  for (const f of failures) console.error(`render-comment: FAIL ${f}`);
  process.exit(1);
}
console.log("render-comment: verdict in the first 200 px, gate column in view, chart legend and series apart, intervals unbroken");
