/** Small inline SVG charts for the HTML report: no script, no external assets. */
export interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly (readonly [number, number])[];
}

export interface Marker {
  readonly x: number;
  readonly y: number;
  readonly label: string;
}

export interface StackPart {
  readonly name: string;
  readonly color: string;
  readonly values: readonly number[];
}

const WIDTH = 560;
const HEIGHT = 260;
// The top margin holds the legend, so it never covers the data.
const PAD = { left: 56, right: 16, top: 30, bottom: 40 };
const INNER_W = WIDTH - PAD.left - PAD.right;
const INNER_H = HEIGHT - PAD.top - PAD.bottom;

export const escapeXml = (text: string): string => text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** 0, a round step, … covering max: 1, 2 or 5 times a power of ten, about five ticks. */
export function niceTicks(max: number): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? power * 10;
  const ticks: number[] = [];
  for (let tick = 0; tick < max + step * 0.999; tick += step) ticks.push(Number(tick.toPrecision(12)));
  return ticks;
}

const format = (value: number): string =>
  Math.abs(value) >= 1000 ? `${Math.round(value / 100) / 10}k` : String(Number(value.toPrecision(3)));

function frame(
  xTicks: readonly number[],
  yTicks: readonly number[],
  xLabel: string,
  yLabel: string,
  x: (v: number) => number,
  y: (v: number) => number,
): string {
  const parts = [`<rect x="${PAD.left}" y="${PAD.top}" width="${INNER_W}" height="${INNER_H}" fill="#fff" stroke="#ccc"/>`];
  for (const tick of yTicks) {
    parts.push(`<line x1="${PAD.left}" x2="${PAD.left + INNER_W}" y1="${y(tick)}" y2="${y(tick)}" stroke="#eee"/>`);
    parts.push(`<text x="${PAD.left - 6}" y="${y(tick) + 4}" text-anchor="end">${format(tick)}</text>`);
  }
  for (const tick of xTicks) parts.push(`<text x="${x(tick)}" y="${PAD.top + INNER_H + 16}" text-anchor="middle">${format(tick)}</text>`);
  parts.push(`<text x="${PAD.left + INNER_W / 2}" y="${HEIGHT - 6}" text-anchor="middle" class="axis">${escapeXml(xLabel)}</text>`);
  parts.push(
    `<text transform="translate(14 ${PAD.top + INNER_H / 2}) rotate(-90)" text-anchor="middle" class="axis">${escapeXml(yLabel)}</text>`,
  );
  return parts.join('');
}

/** Each entry as wide as its label (about 7 px a character at the charts' 12 px font), so long labels fit. */
function legend(items: readonly { name: string; color: string }[]): string {
  let x = PAD.left;
  return items
    .map((item) => {
      const entry = `<g transform="translate(${x} ${PAD.top - 10})"><rect width="10" height="10" y="-9" fill="${item.color}"/><text x="14">${escapeXml(item.name)}</text></g>`;
      x += 14 + Math.ceil(item.name.length * 7) + 24;
      return entry;
    })
    .join('');
}

const svg = (title: string, body: string): string =>
  `<svg viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${escapeXml(title)}" xmlns="http://www.w3.org/2000/svg">${body}</svg>`;

/**
 * Lines over a shared x axis (seconds, or throughput for the ramp curve), with optional markers.
 * `xMax` fixes the axis, so charts of the same run line up with each other and with stackedColumns.
 */
export function lineChart(
  title: string,
  xLabel: string,
  yLabel: string,
  series: readonly Series[],
  markers: readonly Marker[] = [],
  xMax?: number,
): string {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return svg(title, `<text x="${WIDTH / 2}" y="${HEIGHT / 2}" text-anchor="middle">no data</text>`);
  const xTicks = niceTicks(xMax ?? Math.max(...all.map(([px]) => px)));
  const yTicks = niceTicks(Math.max(...all.map(([, py]) => py), ...markers.map((m) => m.y)));
  const x = (v: number): number => Math.round((PAD.left + (v / xTicks.at(-1)!) * INNER_W) * 10) / 10;
  const y = (v: number): number => Math.round((PAD.top + INNER_H - (v / yTicks.at(-1)!) * INNER_H) * 10) / 10;
  const lines = series.map((s) => {
    const path = s.points.map(([px, py]) => `${x(px)},${y(py)}`).join(' ');
    const dots =
      s.points.length <= 30 ? s.points.map(([px, py]) => `<circle cx="${x(px)}" cy="${y(py)}" r="3" fill="${s.color}"/>`).join('') : '';
    return `<polyline points="${path}" fill="none" stroke="${s.color}" stroke-width="2"/>${dots}`;
  });
  const marks = markers.map(
    (m) =>
      `<circle cx="${x(m.x)}" cy="${y(m.y)}" r="7" fill="none" stroke="#d62728" stroke-width="2.5"/><text x="${x(m.x) + 10}" y="${y(m.y) - 10}" class="mark">${escapeXml(m.label)}</text>`,
  );
  return svg(title, frame(xTicks, yTicks, xLabel, yLabel, x, y) + lines.join('') + marks.join('') + legend(series));
}

/**
 * One stacked column per x slot (a second of the run, slot i spanning i to i + 1): parts add up
 * to the column's height. The x axis is lineChart's for the same `xMax`, so the two line up.
 */
export function stackedColumns(title: string, xLabel: string, yLabel: string, parts: readonly StackPart[], xMax?: number): string {
  const slots = Math.max(0, ...parts.map((p) => p.values.length));
  if (slots === 0) return svg(title, `<text x="${WIDTH / 2}" y="${HEIGHT / 2}" text-anchor="middle">no data</text>`);
  const totals = Array.from({ length: slots }, (_, i) => parts.reduce((sum, p) => sum + Math.max(0, p.values[i] ?? 0), 0));
  const xTicks = niceTicks(xMax ?? slots);
  const yTicks = niceTicks(Math.max(...totals));
  const slotW = INNER_W / xTicks.at(-1)!;
  const x = (v: number): number => Math.round((PAD.left + v * slotW) * 10) / 10;
  const y = (v: number): number => Math.round((PAD.top + INNER_H - (v / yTicks.at(-1)!) * INNER_H) * 10) / 10;
  const rects: string[] = [];
  for (let i = 0; i < slots; i += 1) {
    let base = 0;
    for (const part of parts) {
      const value = Math.max(0, part.values[i] ?? 0);
      if (value > 0)
        rects.push(
          `<rect x="${x(i) + 0.5}" y="${y(base + value)}" width="${Math.max(1, slotW - 1)}" height="${Math.round((y(base) - y(base + value)) * 10) / 10}" fill="${part.color}"/>`,
        );
      base += value;
    }
  }
  return svg(title, frame(xTicks, yTicks, xLabel, yLabel, x, y) + rects.join('') + legend(parts));
}

/** Horizontal bars with their counts: status codes and outcomes. */
export function barList(title: string, bars: readonly { label: string; value: number; color: string }[]): string {
  const height = PAD.top + bars.length * 26 + 8;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const labelW = 230;
  const barW = WIDTH - labelW - 80;
  const rows = bars.map((bar, i) => {
    const top = PAD.top + i * 26;
    const w = Math.max(1, Math.round((bar.value / max) * barW));
    return `<text x="${labelW - 8}" y="${top + 14}" text-anchor="end">${escapeXml(bar.label)}</text><rect x="${labelW}" y="${top}" width="${w}" height="18" fill="${bar.color}"/><text x="${labelW + w + 6}" y="${top + 14}">${bar.value}</text>`;
  });
  return `<svg viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="${escapeXml(title)}" xmlns="http://www.w3.org/2000/svg">${rows.join('')}</svg>`;
}
