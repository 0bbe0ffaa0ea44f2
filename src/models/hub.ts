// Models named like the Hugging Face Hub names them, `org/name` or `org/name@revision`, found
// where Python tools keep them, the Hub cache (huggingface_hub's layout):
//   <cache>/models--org--name/refs/<revision>          the commit a branch or tag points to
//   <cache>/models--org--name/snapshots/<commit>/<file> symlinks to ../../blobs/<etag>
//   <cache>/models--org--name/blobs/<etag>             the bytes (etag: sha256 for LFS files, git sha1 otherwise)
// with <cache> = HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub. A cached
// snapshot is used without any network. Otherwise (unless HF_HUB_OFFLINE is set) the repository's
// commit and file list come from the Hub API through @huggingface/hub (modelInfo, listFiles), and
// the files a model needs are downloaded into the same layout: each into `<blob>.incomplete`,
// resumed with an HTTP Range request after an interruption, checked against its size and its
// checksum (sha256 of an LFS file, git's blob sha1 of a small file), then renamed and linked.
// (The library's own downloadFileToCacheDir neither resumes nor checks a checksum.) HF_TOKEN
// is sent for gated or private models; HF_ENDPOINT (or the endpoint option) names the server.

import { createHash } from 'node:crypto';
import { createReadStream, existsSync, lstatSync, readFileSync, statSync } from 'node:fs';
import { mkdir, open, readlink, rename, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { LetheError } from '../engine/errors.ts';

export interface HubOptions {
  /** The cache root; default HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub. */
  cacheDir?: string;
  /** The Hub's base URL; default HF_ENDPOINT, else https://huggingface.co. */
  endpoint?: string;
  /** Access token for gated or private models; default HF_TOKEN (or HUGGING_FACE_HUB_TOKEN). */
  token?: string;
  /** Never touch the network; default true when HF_HUB_OFFLINE is 1/true/yes/on. */
  offline?: boolean;
  /** Called as bytes arrive: the file, bytes so far (resumed bytes included) and its size. */
  onProgress?: (progress: { file: string; bytes: number; total: number }) => void;
  /** Attempts per file before giving up (each resumes where the last stopped). Default 3. */
  attempts?: number;
  /** Which repository files to fetch; default those a model folder needs (config, weights, tokenizer files). */
  wanted?: (path: string) => boolean;
  /** The fetch to use (tests, proxies). Default the global fetch. */
  fetch?: typeof fetch;
}

/** A Hub model name: `org/name` (revision "main") or `org/name@revision`. */
export interface HubRef {
  repo: string;
  revision: string;
}

const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+(@[\w./-]+)?$/;
const COMMIT = /^[0-9a-f]{40}$/;

/** `spec` as a Hub name, or null when it is not one (a path that exists is never a Hub name). */
export function parseHubRef(spec: string): HubRef | null {
  if (existsSync(spec) || !HUB_ID.test(spec) || spec.startsWith('.') || spec.includes('..')) return null;
  const at = spec.indexOf('@');
  return at < 0 ? { repo: spec, revision: 'main' } : { repo: spec.slice(0, at), revision: spec.slice(at + 1) };
}

/** The cache root the options and environment name. */
export function hubCacheDir(options: HubOptions = {}): string {
  const env = process.env;
  return options.cacheDir ?? env.HF_HUB_CACHE ?? join(env.HF_HOME ?? join(homedir(), '.cache', 'huggingface'), 'hub');
}

const isOffline = (options: HubOptions) => options.offline ?? /^(1|true|yes|on)$/i.test(process.env.HF_HUB_OFFLINE ?? '');
const repoFolder = (cache: string, repo: string) => join(cache, `models--${repo.split('/').join('--')}`);

/** The cached snapshot folder of `ref` (revision resolved through refs/), or null when absent. */
export function cachedSnapshot(ref: HubRef, options: HubOptions = {}): string | null {
  const folder = repoFolder(hubCacheDir(options), ref.repo);
  let commit = ref.revision;
  if (!COMMIT.test(commit)) {
    const refFile = join(folder, 'refs', ref.revision);
    if (!existsSync(refFile)) return null;
    commit = readFileSync(refFile, 'utf8').trim();
  }
  const snapshot = join(folder, 'snapshots', commit);
  return existsSync(snapshot) && statSync(snapshot).isDirectory() ? snapshot : null;
}

/** The files of a repository a model folder needs. */
export function modelFile(path: string): boolean {
  if (path.includes('/')) return false; // sub-folders hold other formats (onnx/, original/, ...)
  return /\.safetensors$|^model\.safetensors\.index\.json$|^(config|generation_config|tokenizer|tokenizer_config|special_tokens_map|added_tokens)\.json$|^(tokenizer\.model|vocab\.json|merges\.txt|chat_template\.jinja)$/.test(path);
}

/**
 * A local folder for `spec`: the path itself when it exists; for a Hub name, its cached snapshot,
 * or (online) the snapshot downloaded into the cache. LetheError when offline and not cached,
 * or when the Hub refuses (not found, gated without a token).
 */
export async function resolveModelRef(spec: string, options: HubOptions = {}): Promise<string> {
  const ref = parseHubRef(spec);
  if (!ref) return spec;
  const cached = cachedSnapshot(ref, options);
  if (cached) return cached;
  const where = repoFolder(hubCacheDir(options), ref.repo);
  if (isOffline(options)) {
    throw new LetheError(`${spec}: not a local path, and not in the Hugging Face cache (${where}); offline (HF_HUB_OFFLINE), so not downloaded`);
  }
  return downloadSnapshot(ref, options);
}

/** Downloads `ref`'s model files into the cache (resuming partial files) and returns the snapshot folder. */
export async function downloadSnapshot(ref: HubRef, options: HubOptions = {}): Promise<string> {
  const cache = hubCacheDir(options);
  const folder = repoFolder(cache, ref.repo);
  const endpoint = (options.endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/$/, '');
  const token = options.token ?? process.env.HF_TOKEN ?? process.env.HUGGING_FACE_HUB_TOKEN;
  const name = `${ref.repo}@${ref.revision}`;
  const common = { hubUrl: endpoint, ...(token ? { accessToken: token } : {}), ...(options.fetch ? { fetch: options.fetch } : {}) };
  let commit: string;
  const files: { path: string; size: number; etag: string; sha256: string | null; gitSha1: string }[] = [];
  try {
    // Loaded only when a download happens: naming or finding a cached model needs no client.
    const { listFiles, modelInfo } = await import('@huggingface/hub');
    const info = (await modelInfo({ name: ref.repo, revision: ref.revision, additionalFields: ['sha'], ...common })) as { sha?: unknown };
    if (typeof info.sha !== 'string' || !COMMIT.test(info.sha)) throw new LetheError(`${name}: the Hub gave no commit for this revision`);
    commit = info.sha;
    for await (const f of listFiles({ repo: { type: 'model', name: ref.repo }, revision: commit, recursive: true, expand: true, ...common })) {
      if (f.type !== 'file' || !(options.wanted ?? modelFile)(f.path)) continue;
      const lfs = f.lfs ?? null;
      const oid = f.oid ?? '';
      files.push({ path: f.path, size: lfs ? lfs.size : f.size, etag: lfs ? lfs.oid : oid, sha256: lfs ? lfs.oid : null, gitSha1: oid });
    }
  } catch (err) {
    throw hubError(err, name, endpoint, token !== undefined);
  }
  if (!files.some((f) => f.path === 'config.json')) throw new LetheError(`${name}: the repository has no config.json (not a transformers model?)`);
  const snapshot = join(folder, 'snapshots', commit);
  for (const f of files) {
    const blob = join(folder, 'blobs', f.etag);
    if (!(existsSync(blob) && statSync(blob).size === f.size)) {
      await downloadBlob(`${endpoint}/${ref.repo}/resolve/${commit}/${f.path}`, blob, f, token, options, name);
    }
    const link = join(snapshot, f.path);
    await mkdir(dirname(link), { recursive: true });
    const target = relative(dirname(link), blob);
    if (lstatSafe(link) && (await readlink(link).catch(() => null)) === target) continue;
    await rm(link, { force: true });
    await symlink(target, link);
  }
  if (!COMMIT.test(ref.revision)) {
    await mkdir(join(folder, 'refs', dirname(ref.revision)), { recursive: true });
    await writeFile(join(folder, 'refs', ref.revision), commit);
  }
  return snapshot;
}

const lstatSafe = (p: string) => {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
};

/** One file into `blob`: resumed from `blob.incomplete`, checked, then renamed. */
async function downloadBlob(
  url: string,
  blob: string,
  f: { path: string; size: number; sha256: string | null; gitSha1: string },
  token: string | undefined,
  options: HubOptions,
  name: string,
): Promise<void> {
  await mkdir(dirname(blob), { recursive: true });
  const partial = `${blob}.incomplete`;
  const attempts = options.attempts ?? 3;
  let lastError: unknown = null;
  for (let attempt = 0; attempt < attempts; attempt++) {
    let have = existsSync(partial) ? (await stat(partial)).size : 0;
    if (have > f.size) {
      await unlink(partial);
      have = 0;
    }
    try {
      if (have < f.size) {
        const headers: Record<string, string> = have > 0 ? { Range: `bytes=${have}-` } : {};
        if (token) headers.Authorization = `Bearer ${token}`;
        const res = await (options.fetch ?? fetch)(url, { headers, redirect: 'follow' });
        if (res.status === 401 || res.status === 403) throw new LetheError(`${name}: ${f.path}: the Hub refused the download (HTTP ${res.status}); ${token ? 'does HF_TOKEN have access to this gated/private model?' : 'a gated or private model needs HF_TOKEN'}`);
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        const resumed = res.status === 206 && have > 0;
        if (!resumed) have = 0; // the server sent the whole file
        const out = await open(partial, resumed ? 'a' : 'w');
        try {
          for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
            await out.write(chunk);
            have += chunk.byteLength;
            options.onProgress?.({ file: f.path, bytes: have, total: f.size });
          }
        } finally {
          await out.close();
        }
      }
      const size = (await stat(partial)).size;
      if (size !== f.size) throw new Error(`${size} of ${f.size} bytes`);
      const digest = await fileDigest(partial, f.sha256 ? 'sha256' : 'sha1', f.sha256 ? null : size);
      if (digest !== (f.sha256 ?? f.gitSha1)) {
        await unlink(partial);
        throw new LetheError(`${name}: ${f.path}: checksum mismatch (${f.sha256 ? 'sha256' : 'git sha1'} ${digest}, the Hub says ${f.sha256 ?? f.gitSha1}); the partial file was removed`);
      }
      await rename(partial, blob);
      return;
    } catch (err) {
      if (err instanceof LetheError) throw err;
      lastError = err;
    }
  }
  throw new LetheError(`${name}: ${f.path}: download did not complete after ${attempts} attempts (${(lastError as Error)?.message ?? lastError}); run again to resume from ${partial}`);
}

/** sha256 of the file, or git's blob sha1 (sha1 of "blob <size>\0" + bytes) when `gitSize` is given. */
async function fileDigest(path: string, algorithm: 'sha256' | 'sha1', gitSize: number | null): Promise<string> {
  const hash = createHash(algorithm);
  if (gitSize !== null) hash.update(`blob ${gitSize}\0`);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function hubError(err: unknown, name: string, endpoint: string, hasToken: boolean): LetheError {
  if (err instanceof LetheError) return err;
  if (err instanceof TypeError && /access token/.test(err.message)) return new LetheError(`${name}: HF_TOKEN is not a Hugging Face access token (${err.message})`);
  const status = (err as { statusCode?: number }).statusCode;
  if (status === 401 || status === 403) {
    return new LetheError(`${name}: the Hub refused access (HTTP ${status}); ${hasToken ? 'does HF_TOKEN have access to this gated/private model?' : 'a gated or private model needs HF_TOKEN'}`);
  }
  if (status === 404) return new LetheError(`${name}: not a local path, and no such model or revision on ${endpoint}`);
  return new LetheError(`${name}: not a local path, and the Hub at ${endpoint} could not be reached (${(err as Error).message}); set HF_HUB_OFFLINE=1 to use only the cache`);
}
