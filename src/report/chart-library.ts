// uPlot (about 50 kB minified): the smallest well-kept chart library that draws line charts,
// bars and a log-scale scatter. Read from node_modules when a report is rendered and inlined,
// so the page needs no network.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let cached: { js: string; css: string } | undefined;

/** uPlot's minified browser build and its stylesheet, as text to inline. */
export function chartLibrary(): { js: string; css: string } {
  cached ??= {
    // `<\/script` keeps a string in the code from closing the inline script element.
    js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8').replace(/<\/script/gi, '<\\/script'),
    css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
  return cached;
}
