/**
 * The operator console: one self-contained page (no build step, no external assets, so it
 * works on an air-gapped cluster). It holds no data itself: every panel comes from the
 * admin API with the key the operator enters (kept in sessionStorage), so it is behind
 * the same authentication as the API. No inline style attributes or event-handler
 * attributes: its Content-Security-Policy allows only its own script and style blocks.
 */
export const CONSOLE_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Switchyard console</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{background:#1d2330;color:#fff;padding:10px 16px;display:flex;gap:12px;align-items:center}
header h1{font-size:16px;margin:0;flex:1}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:12px;padding:12px}
section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:10px 12px}
h2{font-size:14px;margin:0 0 8px}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:3px 6px;border-bottom:1px solid #eef0f3;font-weight:normal}
th{color:#6b7280}.READY,.closed{color:#147a3d}.FAILED,.open{color:#b42318}.LOADING,.half-open{color:#b54708}
button{cursor:pointer}.none,.kind,.detail,.scale{color:#6b7280}.detail,.scale,.kind{font-size:12px}.axis{stroke:#c4c9d2}
.tag{font-size:11px;border-radius:3px;padding:0 4px;background:#eef0f3}.tag.int8{background:#fef0c7}.tag.default{background:#d1fadf}
#error{color:#b42318}.heatmap{image-rendering:pixelated;width:192px}svg{vertical-align:middle}.wide{grid-column:1/-1}.p50{color:#2563eb}.p95{color:#b54708}
</style></head><body>
<header><h1>Switchyard console</h1><input id="key" type="password" placeholder="admin API key" size="28"><button id="save">Use key</button><span id="error"></span></header>
<main>
<section><h2>Models</h2><table id="models"><thead><tr><th>model</th><th>version</th><th>state</th><th>pool</th><th>runs on</th><th>queued</th></tr></thead><tbody></tbody></table></section>
<section><h2>Latency and traffic, last 10 minutes</h2><table id="series"><thead><tr><th>target</th>
<th>p50 <span class="p50">━</span> / p95 <span class="p95">━</span> ms</th><th>requests per 10 s</th><th>queued</th><th>newest point</th></tr></thead><tbody></tbody></table></section>
<section><h2>Cost today (UTC)</h2><table id="cost"><thead><tr><th>tenant</th><th>USD</th></tr></thead><tbody></tbody></table></section>
<section><h2>Circuit breakers</h2><table id="breakers"><thead><tr><th>model version</th><th>state</th><th>failures</th></tr></thead><tbody></tbody></table></section>
<section class="wide"><h2>Review queue</h2><table id="reviews"><thead><tr><th>item</th><th>route</th><th>reason</th><th>confidence</th><th>model output</th><th>explanation</th><th></th></tr></thead><tbody></tbody></table></section>
</main>
<script>
const $ = (id) => document.getElementById(id);
const heatmap = (r) => {
  const png = r.explanation && r.explanation.heatmap_png;
  return typeof png === 'string' && /^[A-Za-z0-9+/]+=*$/.test(png) ? '<img class="heatmap" alt="heatmap" src="data:image/png;base64,' + png + '">' : (r.explanation ? 'attached' : '');
};
const keyInput = $('key');
keyInput.value = sessionStorage.getItem('switchyard-key') || '';
$('save').onclick = () => { sessionStorage.setItem('switchyard-key', keyInput.value); refresh(); };
// Escapes quotes too: some values land in attributes (data-target, class).
const text = (value) => String(value).replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
async function api(method, path, body) {
  const key = sessionStorage.getItem('switchyard-key');
  const response = await fetch(path, { method, headers: { ...(key ? { authorization: 'Bearer ' + key } : {}), ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(json.error || response.status);
  return json;
}
// One chart per cell: the x axis is the whole window (a point sits at its time, gaps stay gaps),
// the y axis starts at 0 and its top is the largest value of all lines drawn (p50 and p95 share it).
function chart(lines, points, overview, unit, digits) {
  const w = 120, h = 28, start = Date.parse(overview.generated_at) - overview.window_ms;
  const largest = Math.max(0, ...lines.flatMap((line) => points.map(line.value))), top = largest || 1;
  const x = (p) => Math.max(2, Math.min(w - 2, ((p.t + overview.bucket_ms / 2 - start) / overview.window_ms) * w)).toFixed(1);
  const y = (v) => (h - 1 - (v / top) * (h - 2)).toFixed(1);
  // A dot per point, so a lone point (a target's first 10 s) shows too.
  const drawn = lines.map((line) => points.length === 0 ? '' : '<polyline fill="none" stroke="' + line.color + '" stroke-width="1.5" points="'
    + points.map((p) => x(p) + ',' + y(line.value(p))).join(' ') + '"/>'
    + points.map((p) => '<circle r="1.5" fill="' + line.color + '" cx="' + x(p) + '" cy="' + y(line.value(p)) + '"/>').join('')).join('');
  const axis = '<line class="axis" x1="0" y1="' + (h - 0.5) + '" x2="' + w + '" y2="' + (h - 0.5) + '"/>';
  const scale = largest === 0 ? '0' : '0–' + largest.toFixed(digits) + unit;
  return '<svg width="' + w + '" height="' + h + '">' + axis + drawn + '</svg> <span class="scale">' + scale + '</span>';
}
const P50 = { color: '#2563eb', value: (p) => p.p50Ms }, P95 = { color: '#b54708', value: (p) => p.p95Ms };
const COUNT = { color: '#147a3d', value: (p) => p.count }, QUEUED = { color: '#b42318', value: (p) => p.queued };
// The newest point with traffic, said with its age: a call 75 s ago is not "now".
function latest(points, overview) {
  const last = [...points].reverse().find((p) => p.count > 0 || p.queued > 0);
  if (!last) return 'none in ' + overview.window_ms / 60000 + ' min';
  const age = Math.max(0, Math.round((Date.parse(overview.generated_at) - last.t - overview.bucket_ms) / 1000));
  const when = age === 0 ? 'last ' + overview.bucket_ms / 1000 + ' s' : age + ' s ago';
  return when + ': ' + last.p50Ms.toFixed(1) + ' / ' + last.p95Ms.toFixed(1) + ' ms, ' + last.count + ' requests, ' + last.queued + ' queued';
}
// An empty panel says so, rather than looking like a failed load.
const rows = (id, html) => {
  const columns = $(id).querySelectorAll('thead th').length;
  $(id).querySelector('tbody').innerHTML = html.length > 0 ? html.join('') : '<tr><td class="none" colspan="' + columns + '">none</td></tr>';
};
const marks = (m) => (m.int8 ? ' <span class="tag int8">int8</span>' : '') + (m.default ? ' <span class="tag default">default</span>' : '');
async function refresh() {
  try {
    const overview = await api('GET', '/v1/console/overview');
    rows('models', overview.models.map((m) => '<tr><td>' + text(m.name) + '</td><td>' + text(m.version ?? '') + marks(m)
      + '</td><td class="' + text(m.state) + '">' + text(m.state) + '</td><td>' + text(m.pool) + '</td><td>' + text((m.providers || []).join(', '))
      + '</td><td>' + Number(m.waiting || 0) + '</td></tr>'));
    rows('series', overview.series.map((s) => '<tr data-target="' + text(s.target) + '"><td>' + text(s.target)
      + ' <span class="kind">' + text(s.kind) + '</span>' + (s.detail ? '<div class="detail">' + text(s.detail) + '</div>' : '')
      + '</td><td>' + chart([P50, P95], s.points, overview, ' ms', 1) + '</td><td>' + chart([COUNT], s.points, overview, '', 0)
      + '</td><td>' + chart([QUEUED], s.points, overview, '', 0) + '</td><td class="now">' + text(latest(s.points, overview)) + '</td></tr>'));
    rows('cost', overview.cost_today.map((c) => '<tr><td>' + text(c.tenant) + '</td><td>' + c.usd.toFixed(9) + '</td></tr>'));
    rows('breakers', overview.circuit_breakers.map((b) => '<tr><td>' + text(b.target) + '</td><td class="' + text(b.state) + '">' + text(b.state) + '</td><td>' + b.consecutive_failures + '</td></tr>'));
    const reviews = await api('GET', '/v1/reviews?state=pending&limit=50');
    rows('reviews', (reviews.items || []).map((r) => '<tr data-review="' + text(r.id) + '"><td>' + text(r.id.slice(0, 8)) + '</td><td>' + text(r.route) + '</td><td>' + text(r.reason) + '</td><td>' + (typeof r.confidence === 'number' ? r.confidence.toFixed(3) : '-') + '</td><td><code>' + text(JSON.stringify(r.model_output).slice(0, 120)) + '</code></td><td>' + heatmap(r) + '</td><td><button data-approve="' + text(r.id) + '">Approve</button> <button data-correct="' + text(r.id) + '">Correct</button></td></tr>'));
    $('error').textContent = '';
  } catch (error) { $('error').textContent = String(error.message || error); }
}
$('reviews').addEventListener('click', async (event) => {
  const target = event.target;
  const id = target.dataset.approve || target.dataset.correct;
  if (!id) return;
  try {
    let body = { decision: 'approve' };
    if (target.dataset.correct) {
      const output = prompt('Corrected output (JSON)');
      if (output === null) return;
      body = { decision: 'correct', output: JSON.parse(output) };
    }
    await api('POST', '/v1/reviews/' + encodeURIComponent(id) + '/claim');
    await api('POST', '/v1/reviews/' + encodeURIComponent(id) + '/resolve', body);
    await refresh();
  } catch (error) { $('error').textContent = String(error.message || error); }
});
refresh();
setInterval(refresh, 5000);
</script></body></html>`;
