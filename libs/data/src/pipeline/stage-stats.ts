/** Kept / dropped counts of one stage with the reasons, and the time and bytes it processed (for MB/s). */
export interface StageStats {
  stage: string;
  documentsIn: number;
  /** UTF-8 bytes of the documents the stage saw. */
  bytesIn: number;
  kept: number;
  dropped: number;
  reasons: Record<string, number>;
  seconds: number;
  summary?: Record<string, number | string>;
}

export function emptyStats(stage: string): StageStats {
  return { stage, documentsIn: 0, bytesIn: 0, kept: 0, dropped: 0, reasons: {}, seconds: 0 };
}

export function recordDrop(stats: StageStats, reason: string): void {
  stats.dropped++;
  stats.reasons[reason] = (stats.reasons[reason] ?? 0) + 1;
}

export function megabytesPerSecond(stats: Pick<StageStats, 'bytesIn' | 'seconds'>): number {
  return stats.seconds > 0 ? stats.bytesIn / 1e6 / stats.seconds : 0;
}

/** UTF-8 length of a string without encoding it. */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // 2 bytes below U+0800, 3 above; a surrogate pair (2 code units) is 4 bytes, so 1 extra per unit.
    if (c >= 0x80) n += c < 0x800 ? 1 : c >= 0xd800 && c <= 0xdfff ? 1 : 2;
  }
  return n;
}
