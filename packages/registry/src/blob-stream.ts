import type { Readable } from 'node:stream';
import { parseContentRange, rangeIsRest } from './content-range.js';
import type { ClientContext } from './context.js';
import { failure } from './context.js';
import { Digester, digestAlgorithm, isDigest } from './digest.js';
import type { Endpoint, EndpointRequest } from './endpoint.js';
import type { HttpResponse } from './http-agent.js';
import { isStall } from './http-agent.js';
import { discard } from './http-send.js';
import { isCallerAbort, networkProblem } from './net-errors.js';
import { backoffDelay, sleep } from './retry.js';

/** What a blob must be. */
export interface BlobTarget {
  digest: string;
  size: number;
}

export interface BlobOpenOptions {
  /**
   * Start here instead of at byte 0 (a download resumed by the caller). The bytes before it must
   * be given as `prefix`, so that the digest covers the whole blob.
   */
  offset?: number;
  prefix?: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
  signal?: AbortSignal;
}

interface Body {
  stream: Readable;
  chunks: AsyncIterator<Buffer>;
  /** Bytes at the start of this body the consumer already has (a server that ignored Range). */
  skip: number;
}

function bodyOf(res: HttpResponse, skip: number): Body {
  return { stream: res.body, chunks: (res.body as AsyncIterable<Buffer>)[Symbol.asyncIterator](), skip };
}

async function feedPrefix(d: Digester, prefix: BlobOpenOptions['prefix']): Promise<number> {
  if (prefix === undefined) return 0;
  if (prefix instanceof Uint8Array) {
    d.update(prefix);
    return prefix.length;
  }
  let n = 0;
  for await (const c of prefix) {
    d.update(c);
    n += c.length;
  }
  return n;
}

/**
 * A blob's bytes as they arrive, checked as they pass: a Content-Length other than `size`, or
 * more bytes than `size`, fail at once; a
 * short blob or a wrong digest fail when the stream ends, after the last chunk and before the
 * consumer's loop can finish, so nothing unverified is ever complete. A dropped, reset or stalled
 * connection is resumed with `Range: bytes=N-` (at most retry.maxResumes times); a 206 counts only
 * with `Content-Range: bytes N-(size-1)/size`, and a server that ignores Range is read again from
 * the start, its first N bytes skipped.
 */
export async function* blobStream(ctx: ClientContext, ep: Endpoint, repository: string, source: string, target: BlobTarget, opts: BlobOpenOptions = {}): AsyncGenerator<Uint8Array, void, undefined> {
  const { digest, size } = target;
  if (!isDigest(digest)) throw failure(ctx, source, 'protocol', `blob: invalid or unsupported digest '${String(digest).slice(0, 140)}'`);
  if (!Number.isSafeInteger(size) || size < 0) throw failure(ctx, source, 'protocol', `blob ${digest}: size is not a non-negative integer`);
  const what = `blob ${digest}`;
  const d = new Digester(digestAlgorithm(digest));
  let offset = opts.offset ?? 0;
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > size) throw new RangeError(`openBlob: offset ${offset} is outside the blob's ${size} bytes`);
  if ((await feedPrefix(d, opts.prefix)) !== offset) throw new RangeError(`openBlob: prefix must hold exactly the ${offset} bytes before offset`);
  const signal = opts.signal;
  const request = (range: boolean): EndpointRequest => ({
    method: 'GET',
    path: `/v2/${repository}/blobs/${digest}`,
    // identity: a transparently decoded body would not be the blob the digest names.
    headers: { 'accept-encoding': 'identity', ...(range && offset > 0 && { range: `bytes=${offset}-` }) },
    repository,
    what,
    source,
    ...(signal && { signal }),
  });

  const open = async (): Promise<Body> => {
    let req = request(true);
    let res = await ep.request(req);
    if (res.status === 206 && rangeIsRest(parseContentRange(res.header('content-range')), offset, size)) return bodyOf(res, 0);
    if (res.status === 206) {
      // A range other than the one asked for: do not splice it in; start over.
      await discard(res);
      ctx.onEvent({ type: 'resume', what, offset, reason: 'the server answered another range; reading from the start' });
      req = request(false);
      res = await ep.request(req);
    } else if (res.status === 200 && offset > 0) {
      ctx.onEvent({ type: 'resume', what, offset, reason: 'the server ignored Range; reading from the start' });
    }
    if (res.status === 200) {
      // A whole answer that announces another length is not the blob: no resume can mend that.
      const length = res.header('content-length');
      if (length !== null && /^[0-9]+$/.test(length) && Number(length) !== size) {
        await discard(res);
        throw failure(ctx, source, 'integrity', `${what}: size mismatch: the registry sends ${length} bytes, the descriptor states ${size}`);
      }
      return bodyOf(res, offset);
    }
    throw await ep.statusError(req, res);
  };

  if (offset === size) {
    finish();
    return;
  }
  let body: Body | undefined = await open();
  let resumes = 0;
  try {
    for (;;) {
      let problem: string | undefined;
      let r: IteratorResult<Buffer> | undefined;
      try {
        r = await body.chunks.next();
      } catch (err) {
        if (isCallerAbort(err, signal)) throw signal!.reason;
        problem = isStall(err) ? `no data for ${ctx.timeouts.stallMs} ms` : networkProblem(err).text;
      }
      if (r?.done) {
        if (offset === size && body.skip === 0) break;
        problem = `the connection ended after ${offset} of ${size} bytes`;
      }
      if (problem !== undefined || !r || r.done) {
        body.stream.destroy();
        body = undefined;
        if (++resumes > ctx.retry.maxResumes) throw failure(ctx, source, 'network', `${what}: ${problem}; gave up after ${ctx.retry.maxResumes} resumes at byte ${offset} of ${size}`);
        ctx.onEvent({ type: 'resume', what, offset, reason: problem ?? 'no data' });
        await sleep(backoffDelay(ctx.retry, resumes), signal);
        body = await open();
        continue;
      }
      let chunk: Uint8Array = r.value;
      if (body.skip > 0) {
        const drop = Math.min(body.skip, chunk.length);
        body.skip -= drop;
        chunk = chunk.subarray(drop);
        if (chunk.length === 0) continue;
      }
      if (offset + chunk.length > size) throw failure(ctx, source, 'integrity', `${what}: size mismatch: more than the ${size} bytes the descriptor states`);
      d.update(chunk);
      offset += chunk.length;
      yield chunk;
    }
  } finally {
    body?.stream.destroy();
  }
  finish();

  function finish(): void {
    if (offset !== size) throw failure(ctx, source, 'integrity', `${what}: size mismatch: ${offset} bytes, expected ${size}`);
    const got = d.digest();
    if (got !== digest) throw failure(ctx, source, 'integrity', `${what}: digest mismatch: content is ${got}, expected ${digest}`);
  }
}
