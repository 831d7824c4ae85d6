/**
 * The SDK path of `readRange` (MOTIF_S3_DIRECT_READS=0): a GetObject with Range and If-Match,
 * its body copied into the caller's sink in flowing mode ('data' events — the async iterator
 * reads in paused mode, which concatenates buffered chunks: one more copy per byte).
 */
import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ApiError } from '#shared/errors.ts';
import { copyIntoSink, type RangeResult, type ReadRangeRequest } from '../../weights/object-store.ts';

export async function sdkReadRange(client: S3Client, bucket: string, key: string, req: ReadRangeRequest, where: string): Promise<RangeResult> {
  const r = await client.send(
    new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${req.start}-${req.end}`, ...(req.ifMatch ? { IfMatch: req.ifMatch } : {}) }),
    { abortSignal: req.signal },
  );
  const body = r.Body as Readable | undefined;
  const cr = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(r.ContentRange ?? '');
  if (!body || !cr || Number(cr[1]) !== req.start || Number(cr[2]) !== req.end) {
    body?.destroy();
    throw new ApiError('unprocessable_entity', `${where} answered range bytes=${req.start}-${req.end} with Content-Range '${r.ContentRange ?? ''}'`);
  }
  const len = req.end - req.start + 1;
  let got = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      // Flowing mode, paused while the sink is full.
      body.on('data', (chunk: Buffer) => {
        if (got + chunk.length > len) {
          body.destroy(new ApiError('unprocessable_entity', `${where} sent more than the ${len} bytes requested`));
          return;
        }
        got += chunk.length;
        req.onBytes?.(chunk.length);
        const waiting = copyIntoSink(req.sink, chunk);
        if (!waiting) return;
        body.pause();
        waiting.then(
          () => body.resume(),
          (err: unknown) => body.destroy(err as Error),
        );
      });
      body.once('end', resolve);
      body.once('error', reject);
      body.once('close', () => reject(new Error('body closed early')));
    });
    if (got !== len) throw new Error(`short body: ${got} of ${len} bytes`);
  } catch (err) {
    if (got > 0) req.onBytes?.(-got);
    throw err;
  }
  return { etag: r.ETag ?? '', size: Number(cr[3]) };
}
