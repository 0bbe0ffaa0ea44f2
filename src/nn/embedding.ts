// Token (and learned position) embeddings: rows of a [N, C] table picked by integer ids. The
// gradient is a scatter-add into the rows that were used (the engine's gather rule).

import type { Tensor } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';

/** table [N, C], ids [...] int64 → [..., C]. */
export function embedding(table: Tensor, ids: Tensor): Tensor {
  return o.gather(table, ids);
}
