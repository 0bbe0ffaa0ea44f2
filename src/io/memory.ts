// The memory a run may use: the container's limit (cgroup v2 memory.max, or v1
// memory.limit_in_bytes) less what the container already uses, or else the memory the kernel
// reports available (MemAvailable, Node's os.freemem), plus what this process already holds.

import { readFileSync } from 'node:fs';
import { freemem } from 'node:os';

/**
 * MALLOC_MMAP_THRESHOLD_ (bytes) the `lethe` command starts itself with on Linux (bin/lethe.js,
 * which cannot import this and repeats the value): freed tensors are returned to the system.
 */
export const LETHE_MMAP_THRESHOLD = '131072';

export interface AvailableMemory {
  bytes: number;
  /** Where the figure comes from, for messages: "available memory", "cgroup limit". */
  source: string;
}

function readNumber(file: string): number | null {
  try {
    const v = readFileSync(file, 'utf8').trim();
    const n = Number(v);
    return v !== 'max' && Number.isFinite(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/** Bytes this process could grow to: min(free + own RSS, cgroup limit − cgroup use + own RSS). */
export function availableMemory(): AvailableMemory {
  const own = process.memoryUsage().rss;
  let bytes = freemem() + own;
  let source = 'available memory';
  const limit = readNumber('/sys/fs/cgroup/memory.max') ?? readNumber('/sys/fs/cgroup/memory/memory.limit_in_bytes');
  // v1 reports "no limit" as a huge number (2^63 rounded to pages).
  if (limit !== null && limit < 2 ** 60) {
    const used = readNumber('/sys/fs/cgroup/memory.current') ?? readNumber('/sys/fs/cgroup/memory/memory.usage_in_bytes') ?? own;
    const room = limit - used + own;
    if (room < bytes) {
      bytes = room;
      source = 'cgroup memory limit';
    }
  }
  return { bytes, source };
}
