using System.Text;

namespace SiteApp;

// Endpoints that take time: a late answer, streamed parts, server-sent events, and a request
// that waits for its own abort (counted, so a test can see that the abort reached the app).
static class Waits {
  static long aborted;
  static long waiting;

  public static long AbortedCount => Interlocked.Read(ref aborted);
  // Requests inside /slow or /hang right now (GET /hanging): a test knows its request reached
  // the app before it disconnects, stops or redeploys.
  public static long WaitingCount => Interlocked.Read(ref waiting);

  // GET /slow?ms=N: "slow done\n" after N ms (not when the request is aborted first).
  public static async Task Slow(HttpContext ctx) {
    long ms = Respond.Query(ctx, "ms", 100, 0, 600_000);
    Interlocked.Increment(ref waiting);
    try {
      await Task.Delay(TimeSpan.FromMilliseconds(ms), ctx.RequestAborted);
    } catch (OperationCanceledException) {
      return;
    } finally {
      Interlocked.Decrement(ref waiting);
    }
    await Respond.Text(ctx, "slow done\n");
  }

  // GET /stream?parts=K&ms=M: "part 1\n" ... "part K\n", each flushed, M ms apart.
  public static async Task Stream(HttpContext ctx) {
    long parts = Respond.Query(ctx, "parts", 3, 0, 100_000);
    long ms = Respond.Query(ctx, "ms", 100, 0, 600_000);
    ctx.Response.ContentType = "text/plain";
    try {
      for (long i = 1; i <= parts; i++) {
        if (i > 1) await Task.Delay(TimeSpan.FromMilliseconds(ms), ctx.RequestAborted);
        await Write(ctx, $"part {i}\n");
      }
    } catch (Exception e) when (Respond.ClientGone(e)) {
      ctx.Abort();
    }
  }

  // GET /sse?events=K&ms=M: the response head at once, then every M ms "data: event i\n\n"
  // (i = 1 .. K), each flushed.
  public static async Task ServerSentEvents(HttpContext ctx) {
    long events = Respond.Query(ctx, "events", 3, 0, 100_000);
    long ms = Respond.Query(ctx, "ms", 100, 0, 600_000);
    ctx.Response.ContentType = "text/event-stream";
    ctx.Response.Headers.CacheControl = "no-cache";
    try {
      await ctx.Response.StartAsync(ctx.RequestAborted);
      await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
      for (long i = 1; i <= events; i++) {
        await Task.Delay(TimeSpan.FromMilliseconds(ms), ctx.RequestAborted);
        await Write(ctx, $"data: event {i}\n\n");
      }
    } catch (Exception e) when (Respond.ClientGone(e)) {
      ctx.Abort();
    }
  }

  // GET /hang: waits for RequestAborted (at most 60 s), then counts the abort (GET /aborted).
  public static async Task Hang(HttpContext ctx) {
    Interlocked.Increment(ref waiting);
    try {
      await Task.Delay(TimeSpan.FromSeconds(60), ctx.RequestAborted);
    } catch (OperationCanceledException) {
      Interlocked.Increment(ref aborted);
      return;
    } finally {
      Interlocked.Decrement(ref waiting);
    }
    await Respond.Text(ctx, "hang: not aborted within 60 s\n");
  }

  static async Task Write(HttpContext ctx, string text) {
    await ctx.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), ctx.RequestAborted);
    await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
  }
}
