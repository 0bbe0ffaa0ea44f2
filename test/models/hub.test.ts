// Hub names (org/name[@revision]) through the Hugging Face cache layout: a cache tree made here is
// used offline; a loopback HTTP server in the Hub's URL layout (API: revision, tree; files:
// resolve/<commit>/<path> with Range) serves a small repository, and a download cut off midway
// resumes from its partial file, is checked against its checksum, and lands in the same layout.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LetheError } from '../../src/engine/errors.ts';
import { hubCacheDir, parseHubRef, resolveModelRef } from '../../src/models/hub.ts';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generate } from '../../src/models/generate.ts';
import { loadModel, loadModelAndTokenizer } from '../../src/models/load-model.ts';
import { evaluate, fixtureDir, golden, maxAbsDiff } from './golden.ts';

const REPO = 'lethe-test/tiny-llama';
const COMMIT = createHash('sha1').update('a commit').digest('hex');
const config = readFileSync(join(fixtureDir('llama-gqa'), 'config.json'));
const weights = readFileSync(join(fixtureDir('llama-gqa'), 'model.safetensors'));
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const gitSha1 = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
const FILES: Record<string, Buffer> = { 'config.json': config, 'model.safetensors': weights, 'README.md': Buffer.from('# tiny\n'), 'onnx/model.onnx': Buffer.from('x') };
const LFS = new Set(['model.safetensors']);

interface Served { url: string; range: string | undefined; auth: string | undefined }
let server: Server;
let endpoint = '';
const requests: Served[] = [];
const behaviour = { cut: 0, corrupt: false, gated: false };

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url!, 'http://x');
  requests.push({ url: url.pathname, range: req.headers.range, auth: req.headers.authorization });
  if (behaviour.gated && req.headers.authorization !== 'Bearer hf_secret') {
    res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"error":"gated"}');
    return;
  }
  const json = (body: unknown) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  if (url.pathname === `/api/models/${REPO}/revision/main`) {
    json({ _id: '1', id: REPO, sha: COMMIT, private: false, gated: false, downloads: 0, likes: 0, lastModified: '2026-01-01T00:00:00.000Z', pipeline_tag: 'text-generation' });
  } else if (url.pathname === `/api/models/${REPO}/tree/${COMMIT}`) {
    json(Object.entries(FILES).map(([path, b]) => ({
      type: 'file', path, size: b.length, oid: gitSha1(b), ...(LFS.has(path) ? { lfs: { oid: sha256(b), size: b.length, pointerSize: 130 } } : {}),
    })));
  } else if (url.pathname.startsWith(`/${REPO}/resolve/${COMMIT}/`)) {
    const path = url.pathname.slice(`/${REPO}/resolve/${COMMIT}/`.length);
    let body = FILES[path];
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    if (behaviour.corrupt && path === 'model.safetensors') body = Buffer.concat([body.subarray(0, body.length - 1), Buffer.from([body[body.length - 1] ^ 1])]);
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const part = body.subarray(start);
    res.writeHead(m ? 206 : 200, { 'Content-Length': String(part.length), ...(m ? { 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}) });
    if (behaviour.cut > 0 && path === 'model.safetensors') {
      behaviour.cut--;
      res.write(part.subarray(0, Math.floor(part.length / 2)), () => setTimeout(() => res.destroy(), 100)); // the connection drops midway
      return;
    }
    res.end(part);
  } else {
    res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"not found"}');
  }
}

before(async () => {
  server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

const tempCache = () => mkdtempSync(join(tmpdir(), 'lethe-hub-'));
const reset = () => {
  requests.length = 0;
  Object.assign(behaviour, { cut: 0, corrupt: false, gated: false });
};
const isLethe = (re: RegExp) => (e: unknown) => e instanceof LetheError && re.test(e.message);

test('Hub names: org/name and org/name@revision; paths and non-names are not', () => {
  assert.deepEqual(parseHubRef('meta-llama/Llama-3.2-1B'), { repo: 'meta-llama/Llama-3.2-1B', revision: 'main' });
  assert.deepEqual(parseHubRef('open-unlearning/tofu_Llama-3.2-1B-Instruct_full@v1.0'), { repo: 'open-unlearning/tofu_Llama-3.2-1B-Instruct_full', revision: 'v1.0' });
  assert.equal(parseHubRef('./models/x'), null);
  assert.equal(parseHubRef('a/b/c'), null);
  assert.equal(parseHubRef(fixtureDir('gpt2')), null);
});

test('a cache tree made here (refs/main → snapshots/<commit> → blobs) loads offline, by branch, by commit, and from HF_HOME', async () => {
  const home = tempCache();
  const saved = { HF_HOME: process.env.HF_HOME, HF_HUB_CACHE: process.env.HF_HUB_CACHE, HF_HUB_OFFLINE: process.env.HF_HUB_OFFLINE };
  try {
    const folder = join(home, 'hub', 'models--org--cached');
    mkdirSync(join(folder, 'blobs'), { recursive: true });
    mkdirSync(join(folder, 'snapshots', COMMIT), { recursive: true });
    mkdirSync(join(folder, 'refs'), { recursive: true });
    writeFileSync(join(folder, 'refs', 'main'), COMMIT);
    for (const [name, bytes] of [['config.json', config], ['model.safetensors', weights]] as const) {
      writeFileSync(join(folder, 'blobs', sha256(bytes)), bytes);
      symlinkSync(join('..', '..', 'blobs', sha256(bytes)), join(folder, 'snapshots', COMMIT, name));
    }
    delete process.env.HF_HUB_CACHE;
    process.env.HF_HOME = home;
    process.env.HF_HUB_OFFLINE = '1';
    assert.equal(hubCacheDir(), join(home, 'hub'));
    const ids = (await golden('llama-gqa')).get('input_ids')!;
    const want = (await evaluate(await loadModel(fixtureDir('llama-gqa')), ids)).logits;
    for (const spec of ['org/cached', `org/cached@${COMMIT}`]) {
      const model = await loadModel(spec);
      assert.equal(model.source!.dir, join(folder, 'snapshots', COMMIT));
      assert.equal(maxAbsDiff((await evaluate(model, ids)).logits, want), 0);
    }
    await assert.rejects(loadModel('org/cached@other-branch'), isLethe(/org\/cached@other-branch: not a local path, and not in the Hugging Face cache .*offline \(HF_HUB_OFFLINE\)/));
    await assert.rejects(loadModel('org/missing'), isLethe(/not in the Hugging Face cache/));
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    rmSync(home, { recursive: true, force: true });
  }
});

test('download: cut off midway, resumed with a Range request, checked, laid out as the Hub cache; then served from the cache', async () => {
  reset();
  const cacheDir = tempCache();
  try {
    behaviour.cut = 1;
    const progress: { file: string; bytes: number; total: number }[] = [];
    const dir = await resolveModelRef(REPO, { cacheDir, endpoint, offline: false, onProgress: (p) => progress.push(p) });
    const folder = join(cacheDir, 'models--lethe-test--tiny-llama');
    assert.equal(dir, join(folder, 'snapshots', COMMIT));
    assert.equal(readFileSync(join(folder, 'refs', 'main'), 'utf8'), COMMIT);
    assert.ok(lstatSync(join(dir, 'model.safetensors')).isSymbolicLink());
    assert.equal(readlinkSync(join(dir, 'model.safetensors')), join('..', '..', 'blobs', sha256(weights)));
    assert.ok(readFileSync(join(dir, 'model.safetensors')).equals(weights));
    assert.equal(readlinkSync(join(dir, 'config.json')), join('..', '..', 'blobs', gitSha1(config)));
    assert.ok(!existsSync(join(dir, 'README.md')) && !existsSync(join(dir, 'onnx')), 'only the files a model needs');
    const gets = requests.filter((r) => r.url.endsWith('/model.safetensors'));
    assert.equal(gets.length, 2);
    assert.equal(gets[0].range, undefined);
    assert.equal(gets[1].range, `bytes=${Math.floor(weights.length / 2)}-`, 'the second request resumes where the first stopped');
    const last = progress.filter((p) => p.file === 'model.safetensors').at(-1)!;
    assert.deepEqual(last, { file: 'model.safetensors', bytes: weights.length, total: weights.length });
    assert.ok(!existsSync(join(folder, 'blobs', `${sha256(weights)}.incomplete`)));
    // Loaded by name, offline now, with no request.
    requests.length = 0;
    const model = await loadModel(REPO, { cacheDir, offline: true });
    const ids = (await golden('llama-gqa')).get('input_ids')!;
    assert.equal(maxAbsDiff((await evaluate(model, ids)).logits, (await evaluate(await loadModel(fixtureDir('llama-gqa')), ids)).logits), 0);
    assert.equal(requests.length, 0);
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test('a download that fails leaves its partial file; the next run resumes it', async () => {
  reset();
  const cacheDir = tempCache();
  try {
    behaviour.cut = 1;
    const opts = { cacheDir, endpoint, offline: false, attempts: 1 };
    await assert.rejects(resolveModelRef(REPO, opts), isLethe(/model.safetensors: download did not complete after 1 attempts .*run again to resume/));
    const partial = join(cacheDir, 'models--lethe-test--tiny-llama', 'blobs', `${sha256(weights)}.incomplete`);
    assert.equal(readFileSync(partial).length, Math.floor(weights.length / 2));
    await resolveModelRef(REPO, opts);
    assert.equal(requests.filter((r) => r.url.endsWith('/model.safetensors')).at(-1)!.range, `bytes=${Math.floor(weights.length / 2)}-`);
    assert.ok(!existsSync(partial));
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test('a checksum mismatch is refused and nothing is kept; a gated model needs HF_TOKEN', async () => {
  reset();
  const cacheDir = tempCache();
  try {
    behaviour.corrupt = true;
    await assert.rejects(resolveModelRef(REPO, { cacheDir, endpoint, offline: false }), isLethe(/model.safetensors: checksum mismatch \(sha256 [0-9a-f]{64}, the Hub says [0-9a-f]{64}\)/));
    assert.ok(!existsSync(join(cacheDir, 'models--lethe-test--tiny-llama', 'blobs', sha256(weights))));
    reset();
    behaviour.gated = true;
    await assert.rejects(resolveModelRef(REPO, { cacheDir, endpoint, offline: false, token: undefined }), isLethe(/refused access \(HTTP 401\); a gated or private model needs HF_TOKEN/));
    await resolveModelRef(REPO, { cacheDir, endpoint, offline: false, token: 'hf_secret' });
    assert.ok(requests.filter((r) => r.url.includes('/resolve/')).every((r) => r.auth === 'Bearer hf_secret'));
    await assert.rejects(resolveModelRef('lethe-test/absent', { cacheDir, endpoint, offline: false, token: 'hf_secret' }), isLethe(/lethe-test\/absent@main: not a local path, and no such model or revision/));
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test('a local path that does not exist, shaped like a Hub name, is reported as both when the Hub cannot be reached', async () => {
  const cacheDir = tempCache();
  try {
    await assert.rejects(loadModel('runs/no-such-model', { cacheDir, endpoint: 'http://127.0.0.1:9', offline: false, attempts: 1 }), isLethe(/runs\/no-such-model@main: not a local path, and the Hub at http:\/\/127.0.0.1:9 could not be reached/));
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test('HF_TOKEN, HF_ENDPOINT and HF_HUB_CACHE from the environment', async () => {
  reset();
  const cacheDir = tempCache();
  const saved = { HF_TOKEN: process.env.HF_TOKEN, HF_ENDPOINT: process.env.HF_ENDPOINT, HF_HUB_CACHE: process.env.HF_HUB_CACHE, HF_HUB_OFFLINE: process.env.HF_HUB_OFFLINE };
  try {
    Object.assign(process.env, { HF_TOKEN: 'hf_secret', HF_ENDPOINT: endpoint, HF_HUB_CACHE: cacheDir });
    delete process.env.HF_HUB_OFFLINE;
    behaviour.gated = true;
    const model = await loadModel(REPO);
    assert.equal(model.source!.dir, join(cacheDir, 'models--lethe-test--tiny-llama', 'snapshots', COMMIT));
    assert.ok(requests.length > 0 && requests.every((r) => r.auth === 'Bearer hf_secret'));
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test('lethe generate --model org/name: downloads into HF_HUB_CACHE from HF_ENDPOINT with one progress line per file, then generates', async () => {
  reset();
  const cacheDir = tempCache();
  try {
    const tokenizerFile = join(fixtureDir('llama2c-shared'), 'tokenizer.bin');
    const local = await loadModelAndTokenizer(fixtureDir('llama-gqa'), { tokenizer: tokenizerFile });
    const [expected] = await generate(local.model, local.tokenizer, ['ab'], { maxNewTokens: 5 });
    const bin = fileURLToPath(new URL('../../bin/lethe.js', import.meta.url));
    // Asynchronous: the loopback server answers from this process.
    const child = spawn(process.execPath, [bin, 'generate', '--model', REPO, '--tokenizer', tokenizerFile, '--prompt', 'ab', '--max-new-tokens', '5'], {
      env: { ...process.env, HF_HUB_CACHE: cacheDir, HF_ENDPOINT: endpoint, HF_HUB_OFFLINE: '', HF_TOKEN: '', CI: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const status = await new Promise<number | null>((r) => child.on('close', r));
    assert.equal(status, 0, stderr);
    assert.equal(stdout, `${expected}\n`);
    assert.deepEqual(stderr.split('\n').filter(Boolean).sort(), [
      `lethe: downloaded ${REPO} config.json (${config.length} B)`,
      `lethe: downloaded ${REPO} model.safetensors (${(weights.length / 1000).toFixed(1)} kB)`,
    ].sort());
    assert.ok(existsSync(join(cacheDir, 'models--lethe-test--tiny-llama', 'snapshots', COMMIT, 'model.safetensors')));
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
});
