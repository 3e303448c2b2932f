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
button{cursor:pointer}#error{color:#b42318}svg{vertical-align:middle}.wide{grid-column:1/-1}
</style></head><body>
<header><h1>Switchyard console</h1><input id="key" type="password" placeholder="admin API key" size="28"><button id="save">Use key</button><span id="error"></span></header>
<main>
<section><h2>Models</h2><table id="models"><thead><tr><th>model</th><th>version</th><th>state</th><th>pool</th><th>runs on</th><th>queued</th></tr></thead><tbody></tbody></table></section>
<section><h2>Latency and traffic, last 10 minutes</h2><table id="series"><thead><tr><th>target</th><th>p50 / p95 ms</th><th>requests per 10 s</th><th>queued</th><th>now</th></tr></thead><tbody></tbody></table></section>
<section><h2>Cost today (UTC)</h2><table id="cost"><thead><tr><th>tenant</th><th>USD</th></tr></thead><tbody></tbody></table></section>
<section><h2>Circuit breakers</h2><table id="breakers"><thead><tr><th>model version</th><th>state</th><th>failures</th></tr></thead><tbody></tbody></table></section>
<section class="wide"><h2>Review queue</h2><table id="reviews"><thead><tr><th>item</th><th>route</th><th>reason</th><th>confidence</th><th>model output</th><th></th></tr></thead><tbody></tbody></table></section>
</main>
<script>
const $ = (id) => document.getElementById(id);
const keyInput = $('key');
keyInput.value = sessionStorage.getItem('switchyard-key') || '';
$('save').onclick = () => { sessionStorage.setItem('switchyard-key', keyInput.value); refresh(); };
const text = (value) => { const span = document.createElement('span'); span.textContent = String(value); return span.innerHTML; };
async function api(method, path, body) {
  const key = sessionStorage.getItem('switchyard-key');
  const response = await fetch(path, { method, headers: { ...(key ? { authorization: 'Bearer ' + key } : {}), ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(json.error || response.status);
  return json;
}
function sparkline(values, color) {
  if (values.length === 0) return '';
  const max = Math.max(...values, 1e-9), w = 120, h = 24;
  const points = values.map((v, i) => (values.length === 1 ? w : (i * w) / (values.length - 1)).toFixed(1) + ',' + (h - (v / max) * h).toFixed(1)).join(' ');
  return '<svg width="' + w + '" height="' + h + '"><polyline fill="none" stroke="' + color + '" stroke-width="1.5" points="' + points + '"/></svg>';
}
const rows = (id, html) => { $(id).querySelector('tbody').innerHTML = html.join(''); };
async function refresh() {
  try {
    const overview = await api('GET', '/v1/console/overview');
    rows('models', overview.models.map((m) => '<tr><td>' + text(m.name) + '</td><td>' + text(m.version ?? '') + '</td><td class="' + text(m.state) + '">' + text(m.state) + '</td><td>' + text(m.pool) + '</td><td>' + text((m.providers || []).join(', ')) + '</td><td>' + Number(m.waiting || 0) + '</td></tr>'));
    rows('series', overview.series.map((s) => { const last = s.points[s.points.length - 1] || { p50Ms: 0, p95Ms: 0, count: 0, queued: 0 };
      return '<tr><td>' + text(s.target) + '</td><td>' + sparkline(s.points.map((p) => p.p50Ms), '#2563eb') + sparkline(s.points.map((p) => p.p95Ms), '#b54708') + '</td><td>' + sparkline(s.points.map((p) => p.count), '#147a3d') + '</td><td>' + sparkline(s.points.map((p) => p.queued), '#b42318') + '</td><td>' + last.p50Ms.toFixed(1) + ' / ' + last.p95Ms.toFixed(1) + ' ms, ' + last.count + ' requests, ' + last.queued + ' queued</td></tr>'; }));
    rows('cost', overview.cost_today.map((c) => '<tr><td>' + text(c.tenant) + '</td><td>' + c.usd.toFixed(9) + '</td></tr>'));
    rows('breakers', overview.circuit_breakers.map((b) => '<tr><td>' + text(b.target) + '</td><td class="' + text(b.state) + '">' + text(b.state) + '</td><td>' + b.consecutive_failures + '</td></tr>'));
    const reviews = await api('GET', '/v1/reviews?state=pending&limit=50');
    rows('reviews', (reviews.items || []).map((r) => '<tr data-review="' + text(r.id) + '"><td>' + text(r.id.slice(0, 8)) + '</td><td>' + text(r.route) + '</td><td>' + text(r.reason) + '</td><td>' + (typeof r.confidence === 'number' ? r.confidence.toFixed(3) : '-') + '</td><td><code>' + text(JSON.stringify(r.model_output).slice(0, 120)) + '</code></td><td><button data-approve="' + text(r.id) + '">Approve</button> <button data-correct="' + text(r.id) + '">Correct</button></td></tr>'));
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
