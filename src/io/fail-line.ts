// The one line a file-system or resource error becomes at the top level (src/cli/main.ts):
// "PATH: cannot open (EACCES: permission denied)". Bugs (TypeError, …) are not covered and keep
// their stack trace.

const ERRNO = /^E[A-Z0-9]+$/;

/**
 * One line for a Node file-system/system error (an `E…` code, naming its path) or a resource
 * error (RangeError from an absurd size, out-of-range buffer or string); null for anything else.
 */
export function resourceErrorLine(err: unknown): string | null {
  if (!(err instanceof Error)) return null;
  const e = err as NodeJS.ErrnoException & { dest?: string };
  if (typeof e.code === 'string' && ERRNO.test(e.code)) {
    const where = e.path ? `${e.path}${e.dest ? ` -> ${e.dest}` : ''}: ` : '';
    const what = e.syscall ? `cannot ${e.syscall}` : 'failed';
    const detail = e.message.replace(/^[A-Z0-9]+: /, '').replace(/, [a-z]+( '.*')?$/, '');
    return `${where}${what} (${e.code}: ${detail})`;
  }
  if (err instanceof RangeError || e.code === 'ERR_OUT_OF_RANGE' || e.code === 'ERR_BUFFER_TOO_LARGE' || e.code === 'ERR_STRING_TOO_LONG' || e.code === 'ERR_FS_FILE_TOO_LARGE') {
    return `out of range: ${e.message} (a size or count far larger than this machine can hold)`;
  }
  return null;
}

/** True for the errors of writing to a closed stdout/stderr (`lethe … | head -1`). */
export const isClosedPipe = (err: unknown): boolean => {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || code === 'ERR_STREAM_WRITE_AFTER_END';
};

/**
 * Makes a closed stdout/stderr stop the printing, not the run: their write errors are dropped
 * (Node emits them as 'error' events, which would otherwise end the process).
 */
export function ignoreClosedOutput(streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const s of streams) {
    s.on('error', (err) => {
      if (!isClosedPipe(err)) throw err;
    });
  }
}
