// SlimApp: a minimal ASP.NET Core app on WebApplication.CreateSlimBuilder, which (unlike
// CreateBuilder) does not call UseIISIntegration. Nothing here knows the host in front: the host
// integrates it by adding Microsoft.AspNetCore.Server.IISIntegration to
// ASPNETCORE_HOSTINGSTARTUPASSEMBLIES, as ANCM does. See ../README.md.
var builder = WebApplication.CreateSlimBuilder(args);
var app = builder.Build();

app.MapGet("/", () => Results.Text("Hello from SlimApp\n")).WithName("hello");
app.MapGet("/whoami", SiteApp.Whoami.Answer);

app.Run();
