interface Placed {
  readonly box: { readonly x: number; readonly y: number; readonly width: number; readonly height: number };
}

/**
 * Top to bottom, then left to right within a row: items whose vertical centres lie
 * within half a box height of the row's first item share its row, so slight baseline
 * differences do not reorder words of one line.
 */
export function readingOrder<T extends Placed>(items: readonly T[]): T[] {
  const centre = (item: T): number => item.box.y + item.box.height / 2;
  const byTop = [...items].sort((a, b) => centre(a) - centre(b) || a.box.x - b.box.x);
  const ordered: T[] = [];
  let row: T[] = [];
  for (const item of byTop) {
    const first = row[0];
    if (first && Math.abs(centre(item) - centre(first)) > Math.min(item.box.height, first.box.height) / 2) {
      ordered.push(...row.sort((a, b) => a.box.x - b.box.x));
      row = [];
    }
    row.push(item);
  }
  ordered.push(...row.sort((a, b) => a.box.x - b.box.x));
  return ordered;
}
