// Errors a user can act on: bad input files, wrong shapes, unknown names. The CLI prints the
// message alone (no stack trace) and exits with `exitCode` (2 for bad input, as DESIGN.md says).
export class LetheError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = 'LetheError';
  }
}

/** A graph that cannot be built: mismatched shapes or dtypes, named with the op. */
export class ShapeError extends LetheError {
  constructor(message: string) {
    super(message);
    this.name = 'ShapeError';
  }
}
