// Where a command's models come from: every `--model`, `--retain-model`, `--target-model` and
// `--reference-model` is a model folder, a llama2.c `.bin` checkpoint (or its folder), or a
// Hugging Face Hub name `org/name[@revision]` (the Hub cache, downloading into it when online).
// The commands resolve a name to its local file or folder first, so the checks that nothing is
// written inside an input compare real paths, then load model and tokenizer through the one
// loader (src/models/load-model.ts loadModelAndTokenizer).

import { loadModelAndTokenizer, type LoadedModel } from '../models/load-model.ts';
import { parseHubRef, resolveModelRef, type HubOptions } from '../models/hub.ts';
import type { ReadSource } from '../io/paths.ts';

/** How models are fetched and read: the Hub options (download progress, offline, cache) and the tokenizer of the main model. */
export interface ModelSourceOptions {
  /** Called as a download's bytes arrive (never when the model is local or cached). */
  onDownload?: HubOptions['onProgress'];
  /** Hub options beyond the environment's (cache, endpoint, token, offline); tests and library users. */
  hub?: Omit<HubOptions, 'onProgress'>;
}

/** A model a command reads: as the user named it and the local file or folder it is. */
export interface ModelInput {
  /** What the user gave (a path, or `org/name[@revision]`). */
  spec: string;
  /** The local file or folder (a Hub name: its snapshot folder in the Hub cache). */
  path: string;
  /** The Hub name, when `spec` is one. */
  hub: string | null;
}

/**
 * `spec` as a local path: itself when it exists, else (a Hub name) its cached snapshot,
 * downloaded first when online and not cached. Throws LetheError (exit 2) when offline and
 * missing, or when the Hub refuses or cannot be reached.
 */
export async function resolveModelInput(spec: string, options: ModelSourceOptions = {}): Promise<ModelInput> {
  const hub = parseHubRef(spec) ? spec : null;
  const path = await resolveModelRef(spec, { ...options.hub, ...(options.onDownload ? { onProgress: options.onDownload } : {}) });
  return { spec, path, hub };
}

/**
 * The model and tokenizer of `input` (a spec or one resolved by resolveModelInput); `tokenizer`
 * names a tokenizer file or folder instead of the one beside the model; `precision` 'checkpoint'
 * keeps BF16/F16 weights at their precision (models only read, or whose trained parameters are
 * widened first: Model.widened). A tokenizer smaller than the model's vocabulary is warned about
 * (`onWarning`, default stderr). Throws LetheError for
 * a missing or malformed model or tokenizer, or a tokenizer larger than the model's vocabulary.
 */
export async function openModel(input: string | ModelInput, options: ModelSourceOptions & { tokenizer?: string; precision?: 'float32' | 'checkpoint'; onWarning?: (line: string) => void } = {}): Promise<LoadedModel & { input: ModelInput }> {
  const resolved = typeof input === 'string' ? await resolveModelInput(input, options) : input;
  const loaded = await loadModelAndTokenizer(resolved.path, {
    ...options.hub,
    ...(options.tokenizer !== undefined ? { tokenizer: options.tokenizer } : {}),
    ...(options.precision ? { precision: options.precision } : {}),
    onWarning: options.onWarning ?? ((line) => process.stderr.write(`lethe: warning: ${line}\n`)),
  });
  return { ...loaded, input: resolved };
}

/** The read sources (for checkWritesOutsideInputs / claimRunFolder) of a resolved model input. */
export function modelReadSource(input: ModelInput, what = 'the input model'): ReadSource {
  return { path: input.path, what: input.hub ? `${what} ${input.hub}, cached at` : what };
}

/**
 * The models that the fields `keys` of `options` name, resolved in order by resolveModelInput (a Hub name
 * downloaded when needed, with `onDownload(spec)`'s progress), as read sources named by their flags
 * ('the input model', 'the --retain-model model', …). Fields left undefined are skipped.
 */
export async function modelReadSources(options: object, keys: readonly string[], onDownload?: (spec: string) => ModelSourceOptions['onDownload']): Promise<ReadSource[]> {
  const out: ReadSource[] = [];
  for (const key of keys) {
    const spec = (options as Record<string, unknown>)[key];
    if (typeof spec !== 'string') continue;
    const what = key === 'model' ? 'the input model' : `the --${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} model`;
    out.push(modelReadSource(await resolveModelInput(spec, onDownload ? { onDownload: onDownload(spec) } : {}), what));
  }
  return out;
}
