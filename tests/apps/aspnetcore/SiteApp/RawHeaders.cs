using Microsoft.AspNetCore.Hosting;

namespace SiteApp;

// The request headers as they arrived, one (name, value) pair per value: the IIS integration's
// forwarded-headers step consumes X-Forwarded-For and X-Forwarded-Proto (it removes them from
// the request), and the info sample must report them as the C app does.
static class RawHeaders {
  static readonly object Key = new();

  // Startup filters wrap each other in registration order (the first is outermost), and the
  // IIS integration registered its filter already: this one goes in front of it.
  public static void Register(IServiceCollection services) =>
      services.Insert(0, ServiceDescriptor.Singleton<IStartupFilter>(new SnapshotFilter()));

  public static List<KeyValuePair<string, string>> Of(HttpContext ctx) =>
      ctx.Items[Key] as List<KeyValuePair<string, string>> ?? Snapshot(ctx);

  static List<KeyValuePair<string, string>> Snapshot(HttpContext ctx) {
    var pairs = new List<KeyValuePair<string, string>>();
    foreach (var (name, values) in ctx.Request.Headers)
            foreach (string? value in values)
                pairs.Add(new(name, value ?? ""));
    return pairs;
  }

  sealed class SnapshotFilter : IStartupFilter {
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app => {
      app.Use((ctx, following) => {
        ctx.Items[Key] = Snapshot(ctx);
        return following(ctx);
      });
      next(app);
    };
  }
}
