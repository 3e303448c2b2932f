import { frameBox, pageFrame, type FrameBox, type Placed, type PageFrame } from './page-frame.js';

interface Framed<T> {
  readonly item: T;
  readonly frame: FrameBox;
}

type Interval = readonly [number, number];

/** A run of this many rows or more, sharing a gutter, is read as columns; fewer (a table row, a signature line) as rows. */
const COLUMN_ROWS = 3;

/**
 * Reading order in the page's own frame (turned upright and deskewed first): the page
 * is cut into horizontal bands where no line overlaps the next; consecutive bands that
 * share a vertical gutter at least one line high wide, COLUMN_ROWS of them or more with
 * lines on both sides of it in two of them, are read column by column; everything else top to bottom and left to right within a
 * row, where items whose centres lie within half a line height share the row.
 */
export function readingOrder<T extends Placed>(items: readonly T[], frame: PageFrame = pageFrame(items)): T[] {
  const framed = items.map((item) => ({ item, frame: frameBox(item, frame) }));
  const ordered: T[] = [];
  for (const group of bandGroups(bands(framed))) {
    const gutters = columnGutters(group);
    if (gutters.length > 0 && group.length >= COLUMN_ROWS) {
      const columns: Framed<T>[][] = Array.from({ length: gutters.length + 1 }, () => []);
      for (const entry of group.flat()) {
        const centre = (entry.frame.left + entry.frame.right) / 2;
        columns[gutters.filter(([start]) => centre > start).length]!.push(entry);
      }
      for (const column of columns) ordered.push(...rows(column));
    } else {
      for (const band of group) ordered.push(...rows(band));
    }
  }
  return ordered;
}

/** Splits at every height no box covers, top to bottom. */
function bands<T>(framed: readonly Framed<T>[]): Framed<T>[][] {
  const sorted = [...framed].sort((a, b) => a.frame.top - b.frame.top);
  const result: Framed<T>[][] = [];
  let bottom = -Infinity;
  for (const entry of sorted) {
    if (result.length === 0 || entry.frame.top >= bottom) {
      result.push([]);
      bottom = entry.frame.bottom;
    }
    result.at(-1)!.push(entry);
    bottom = Math.max(bottom, entry.frame.bottom);
  }
  return result;
}

/** Consecutive bands grouped while they keep a common gutter. */
function bandGroups<T>(all: readonly Framed<T>[][]): Framed<T>[][][] {
  const groups: Framed<T>[][][] = [];
  let current: Framed<T>[][] = [];
  for (const band of all) {
    if (current.length > 0 && commonGutters([...current, band]).length === 0) {
      groups.push(current);
      current = [];
    }
    current.push(band);
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/** Gaps free of boxes in every band, inside the group's extent, at least a line high wide. */
function commonGutters<T>(group: readonly Framed<T>[][]): Interval[] {
  const entries = group.flat();
  const left = Math.min(...entries.map((entry) => entry.frame.left));
  const right = Math.max(...entries.map((entry) => entry.frame.right));
  const lineHeight = median(entries.map((entry) => entry.frame.height));
  let free: Interval[] = [[left, right]];
  for (const band of group) free = intersect(free, freeOf(band));
  return free.filter((gutter) => gutter[0] > left && gutter[1] < right && gutter[1] - gutter[0] >= lineHeight);
}

/** Common gutters that separate columns: lines stand on both sides of them in two bands or more. */
function columnGutters<T>(group: readonly Framed<T>[][]): Interval[] {
  const straddled = (gutter: Interval): number =>
    group.filter((band) => band.some((entry) => entry.frame.right <= gutter[0]) && band.some((entry) => entry.frame.left >= gutter[1]))
      .length;
  return commonGutters(group).filter((gutter) => straddled(gutter) >= 2);
}

function freeOf<T>(band: readonly Framed<T>[]): Interval[] {
  const spans = band.map((entry) => [entry.frame.left, entry.frame.right] as const).sort((a, b) => a[0] - b[0]);
  const free: Interval[] = [];
  let reached = -Infinity;
  for (const [start, end] of spans) {
    if (start > reached) free.push([reached, start]);
    reached = Math.max(reached, end);
  }
  free.push([reached, Infinity]);
  return free;
}

function intersect(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  const result: Interval[] = [];
  for (const [a0, a1] of a) {
    for (const [b0, b1] of b) {
      const start = Math.max(a0, b0);
      const end = Math.min(a1, b1);
      if (end > start) result.push([start, end]);
    }
  }
  return result;
}

/** Top to bottom, then left to right within a row. */
function rows<T>(entries: readonly Framed<T>[]): T[] {
  const byTop = [...entries].sort((a, b) => a.frame.centreY - b.frame.centreY || a.frame.left - b.frame.left);
  const ordered: T[] = [];
  let row: Framed<T>[] = [];
  const flush = (): void => void ordered.push(...row.sort((a, b) => a.frame.left - b.frame.left).map((entry) => entry.item));
  for (const entry of byTop) {
    const first = row[0];
    if (first && Math.abs(entry.frame.centreY - first.frame.centreY) > Math.min(entry.frame.height, first.frame.height) / 2) {
      flush();
      row = [];
    }
    row.push(entry);
  }
  flush();
  return ordered;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}
