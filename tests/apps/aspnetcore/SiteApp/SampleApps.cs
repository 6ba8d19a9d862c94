namespace SiteApp;

// The answers of sitehost's small C sample apps (tests/apps/*.c, matrix_app.c), one handler each;
// Sample.cs says which one runs. Bodies.cs, InfoSample.cs and WebSocketEcho.cs hold the rest.
static class SampleApps {
  static readonly Lock ProbeLock = new();

  public static string? AbortProbeFile => Environment.GetEnvironmentVariable("ABORT_PROBE_FILE");

  // hello.c: "Hello, World!" to every request.
  public static Task Hello(HttpContext ctx) => Respond.Text(ctx, "Hello, World!");

  // slow.c: "slept N ms\n" after ?ms=N (default 100).
  public static async Task Slow(HttpContext ctx) {
    long ms = Respond.Query(ctx, "ms", 100, 0, 600_000);
    if (!await Delay(ctx, ms)) return;
    await Respond.Text(ctx, $"slept {ms} ms\n");
  }

  // version.c: "version v1\n" (v2 for the v2 build), after ?ms=N (default 0).
  public static async Task Version(HttpContext ctx) {
    long ms = Respond.Query(ctx, "ms", 0, 0, 600_000);
    if (!await Delay(ctx, ms)) return;
    await Respond.Text(ctx, $"version {Endpoints.Version}\n");
  }

  // abort_probe.c: appends "started <target>" to $ABORT_PROBE_FILE, answers "not aborted\n"
  // after ?ms=N (default 30000), or appends "aborted <target>" when the request is aborted
  // first (the client, or the proxy for it, closed the connection).
  public static async Task AbortProbe(HttpContext ctx) {
    string target = Respond.RawTarget(ctx);
    Record("started", target);
    if (!await Delay(ctx, Respond.Query(ctx, "ms", 30_000, 0, 600_000))) {
      Record("aborted", target);
      return;
    }
    await Respond.Text(ctx, "not aborted\n", contentType: null);
  }

  // ws_echo.c: a WebSocket echo on every path, each message after $WS_ECHO_PREFIX.
  public static Task WebSocket(HttpContext ctx) =>
      WebSocketEcho.Serve(ctx, Environment.GetEnvironmentVariable("WS_ECHO_PREFIX") ?? "");

  // matrix_app.c /status?code=N (default 204): that status, no body; 304 with an ETag.
  public static Task Status(HttpContext ctx) {
    ctx.Response.StatusCode = (int)Respond.Query(ctx, "code", 204, 100, 999);
    if (ctx.Response.StatusCode == StatusCodes.Status304NotModified)
      ctx.Response.Headers.ETag = "\"matrix-1\"";
    return Task.CompletedTask;
  }

  // matrix_app.c /headers: response headers of its own and X-Echo-Me back as X-Echoed.
  public static Task Headers(HttpContext ctx) {
    var headers = ctx.Response.Headers;
    headers["X-Matrix"] = "out";
    headers.Append("Set-Cookie", "a=1; Path=/");
    headers.Append("Set-Cookie", "b=2; Path=/");
    headers.CacheControl = "no-store";
    if (ctx.Request.Headers.TryGetValue("X-Echo-Me", out var echo))
      headers["X-Echoed"] = echo.ToString();
    return Respond.Text(ctx, "ok\n", contentType: null);
  }

  // Waits ms milliseconds; false when the request was aborted first.
  static async Task<bool> Delay(HttpContext ctx, long ms) {
    try {
      await Task.Delay(TimeSpan.FromMilliseconds(ms), ctx.RequestAborted);
      return true;
    } catch (OperationCanceledException) {
      return false;
    }
  }

  static void Record(string what, string target) {
    lock (ProbeLock) File.AppendAllText(AbortProbeFile!, $"{what} {target}\n");
  }
}
