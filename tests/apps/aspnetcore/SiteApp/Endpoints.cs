using System.Reflection;

namespace SiteApp;

// The app's own endpoints (README.md), all relative to the path base. A sample mode that answers
// every path (Sample.CatchAll) also answers "/"; every other endpoint stays in every mode.
static class Endpoints {
  // "v1" or "v2": the build's SiteAppVersion MSBuild property, through an assembly attribute.
  public static readonly string Version =
      typeof(Endpoints)
          .Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
          .FirstOrDefault(a => a.Key == "SiteAppVersion")
          ?.Value ??
      "unknown";

  public static void Map(WebApplication app, Sample sample) {
    // Named so that a link to it can be generated (GET /whoami's "link").
    if (sample.CatchAll is {} root)
      app.Map("/", root).WithName("hello");
    else
      app.MapMethods("/", ["GET", "HEAD"], Hello).WithName("hello");
    app.MapGet("/version", ctx => Respond.Text(ctx, Version + "\n"));
    app.MapGet("/pid", ctx => Respond.Text(ctx, Environment.ProcessId + "\n"));
    app.MapPost("/echo", Bodies.Echo);
    app.MapPost("/sha256", Bodies.Sha256);
    app.MapMethods("/download", ["GET", "HEAD"], Bodies.Download);
    app.MapGet("/whoami", Whoami.Answer);
    app.Map("/ws", ctx => WebSocketEcho.Serve(ctx, prefix: ""));
    app.MapGet("/slow", Waits.Slow);
    app.MapGet("/stream", Waits.Stream);
    app.MapGet("/sse", Waits.ServerSentEvents);
    app.MapGet("/hang", Waits.Hang);
    app.MapGet("/aborted", ctx => Respond.Text(ctx, Waits.AbortedCount + "\n"));
    app.MapGet("/hanging", ctx => Respond.Text(ctx, Waits.WaitingCount + "\n"));
  }

  static Task Hello(HttpContext ctx) => Respond.Text(ctx, "Hello from ASP.NET Core\n");
}
