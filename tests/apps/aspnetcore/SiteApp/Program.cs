// SiteApp: an ordinary ASP.NET Core app, as `dotnet new web` makes it, that sitehost's tests run
// out-of-process. It knows nothing of sitehost: CreateBuilder's IIS integration (UseIISIntegration)
// reads ASPNETCORE_PORT, ASPNETCORE_APPL_PATH and ASPNETCORE_TOKEN, listens on the port, sets the
// path base, applies X-Forwarded-* and rejects requests without the token. Endpoints: README.md.
using SiteApp;

if (Environment.GetEnvironmentVariable("SITEAPP_THROW_AT_STARTUP") == "1") {
  Console.WriteLine("SiteApp: failing at start-up (SITEAPP_THROW_AT_STARTUP=1)");
  throw new InvalidOperationException(
      "SiteApp start-up failure requested by SITEAPP_THROW_AT_STARTUP");
}

// SITEAPP_SAMPLE makes the app stand in for one of sitehost's C sample apps (Sample.cs).
var sample = Sample.FromEnvironment();
sample.BeforeBuild();

var builder = WebApplication.CreateBuilder(args);
if (sample.NeedsRawHeaders) RawHeaders.Register(builder.Services);
var app = builder.Build();

Lifetime.ReportStopping(app);
app.UseWebSockets();
Endpoints.Map(app, sample);
sample.Map(app);
app.Run();
