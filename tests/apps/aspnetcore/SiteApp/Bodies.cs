using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography;

namespace SiteApp;

// Request and response bodies: streamed echo, digest, counted upload, patterned download.
static class Bodies {
  // The download pattern, byte i = 'a' + i % 23; 23 * 2800 bytes so that writing whole blocks
  // one after the other continues it.
  const int Period = 23;
  static readonly byte[] Block = MakeBlock(Period * 2800);

  // POST /echo: the body back as it arrives (never buffered whole), with back-pressure: the
  // next read waits for the previous write's flush.
  public static async Task Echo(HttpContext ctx) {
    Respond.NoBodyLimit(ctx);
    ctx.Response.ContentType = "application/octet-stream";
    if (ctx.Request.ContentLength is long length) ctx.Response.ContentLength = length;
    PipeReader reader = ctx.Request.BodyReader;
    try {
      for (;;) {
        ReadResult read = await reader.ReadAsync(ctx.RequestAborted);
        foreach (ReadOnlyMemory<byte> segment in read.Buffer)
          await ctx.Response.BodyWriter.WriteAsync(segment, ctx.RequestAborted);
        reader.AdvanceTo(read.Buffer.End);
        if (read.IsCompleted) break;
      }
    } catch (Exception e) when (Respond.ClientGone(e)) {
      ctx.Abort();  // never let a cut echo look complete
    }
  }

  // POST /sha256: "<byte count> <sha256 hex>\n" of the body.
  public static async Task Sha256(HttpContext ctx) {
    var (count, hash) = await Consume(ctx, IncrementalHash.CreateHash(HashAlgorithmName.SHA256));
    if (hash is not null) await Respond.Text(ctx, $"{count} {Convert.ToHexStringLower(hash)}\n");
  }

  // POST /count (matrix_app): "<byte count> bytes\n".
  public static async Task Count(HttpContext ctx) {
    var (count, done) = await Consume(ctx, null);
    if (done is not null) await Respond.Text(ctx, $"{count} bytes\n");
  }

  // GET /download?bytes=N: N pattern bytes with a Content-Length (HEAD: the head only).
  public static async Task Download(HttpContext ctx) {
    long n = Respond.Query(ctx, "bytes", 1000, 0, 1L << 40);
    ctx.Response.ContentType = "application/octet-stream";
    ctx.Response.ContentLength = n;
    if (!HttpMethods.IsHead(ctx.Request.Method)) await WritePattern(ctx, n, Block.Length);
  }

  // GET /chunked?chunks=K&size=S (matrix_app): K writes of S pattern bytes and no
  // Content-Length, so the response is chunked.
  public static async Task Chunked(HttpContext ctx) {
    long chunks = Respond.Query(ctx, "chunks", 3, 0, 1_000_000);
    long size = Respond.Query(ctx, "size", 10, 0, Block.Length);
    if (size == 0) size = Block.Length;
    ctx.Response.ContentType = "text/plain";
    await WritePattern(ctx, chunks * size, (int)size);
  }

  // n pattern bytes (i counted over the whole body) in writes of at most `piece` bytes.
  static async Task WritePattern(HttpContext ctx, long n, int piece) {
    try {
      for (long at = 0; at < n;) {
        int offset = (int)(at % Block.Length);
        int len = (int)Math.Min(Math.Min(Block.Length - offset, piece), n - at);
        await ctx.Response.Body.WriteAsync(Block.AsMemory(offset, len), ctx.RequestAborted);
        at += len;
      }
    } catch (Exception e) when (Respond.ClientGone(e)) {
      ctx.Abort();
    }
  }

  // Reads the whole body, hashing it when `hash` is given. (count, digest) when the body
  // arrived whole (an empty digest without a hash); (count, null) when the client went away.
  static async Task<(long, byte[]?)> Consume(HttpContext ctx, IncrementalHash? hash) {
    Respond.NoBodyLimit(ctx);
    PipeReader reader = ctx.Request.BodyReader;
    long count = 0;
    try {
      for (;;) {
        ReadResult read = await reader.ReadAsync(ctx.RequestAborted);
        foreach (ReadOnlyMemory<byte> segment in read.Buffer) hash?.AppendData(segment.Span);
        count += read.Buffer.Length;
        reader.AdvanceTo(read.Buffer.End);
        if (read.IsCompleted) break;
      }
    } catch (Exception e) when (Respond.ClientGone(e)) {
      ctx.Abort();
      return (count, null);
    }
    return (count, hash?.GetHashAndReset() ?? []);
  }

  static byte[] MakeBlock(int size) {
    var block = new byte[size];
    for (int i = 0; i < size; i++) block[i] = (byte)('a' + i % Period);
    return block;
  }
}
