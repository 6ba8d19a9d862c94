// SlimApp: a minimal ASP.NET Core app on WebApplication.CreateSlimBuilder, which (unlike
// CreateBuilder) does not call UseIISIntegration and runs no hosting startups, so ANCM's
// ASPNETCORE_HOSTINGSTARTUPASSEMBLIES entry does not integrate it; it listens where sitehost's
// ASPNETCORE_URLS says. Nothing here knows the host in front. See ../README.md.
var builder = WebApplication.CreateSlimBuilder(args);
var app = builder.Build();

app.MapGet("/", () => Results.Text("Hello from SlimApp\n")).WithName("hello");
app.MapGet("/whoami", SiteApp.Whoami.Answer);
app.MapGet("/pid", () => Results.Text(Environment.ProcessId + "\n"));

app.Run();
