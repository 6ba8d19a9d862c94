using System.Text.Encodings.Web;
using System.Text.Json;

namespace SiteApp;

// GET /whoami: what the app learnt about the request from the host in front of it (scheme and
// client address from X-Forwarded-*, the path base, the client certificate) as JSON. Also linked
// into SlimApp.
static class Whoami {
  public static async Task Answer(HttpContext ctx) {
    var cert = await ctx.Connection.GetClientCertificateAsync(ctx.RequestAborted);
    var links = ctx.RequestServices.GetRequiredService<LinkGenerator>();
    var body = new MemoryStream();
    var options = new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    using (var json = new Utf8JsonWriter(body, options)) {
      json.WriteStartObject();
      json.WriteString("scheme", ctx.Request.Scheme);
      json.WriteString("host", ctx.Request.Host.Value);
      json.WriteString("pathBase", ctx.Request.PathBase.Value ?? "");
      json.WriteString("path", ctx.Request.Path.Value ?? "");
      json.WriteString("remoteIp", ctx.Connection.RemoteIpAddress?.ToString());
      json.WriteNumber("remotePort", ctx.Connection.RemotePort);
      json.WriteString("clientCertSubject", cert?.Subject);
      json.WriteString("link", links.GetPathByName(ctx, "hello"));
      json.WriteStartObject("headers");
      foreach (var (name, value) in ctx.Request.Headers) json.WriteString(name, value.ToString());
      json.WriteEndObject();
      json.WriteEndObject();
    }
    ctx.Response.ContentType = "application/json";
    ctx.Response.ContentLength = body.Length;
    await ctx.Response.Body.WriteAsync(body.GetBuffer().AsMemory(0, (int)body.Length),
                                       ctx.RequestAborted);
  }
}
