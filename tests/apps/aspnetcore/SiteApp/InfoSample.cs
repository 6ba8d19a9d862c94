using System.Collections;
using System.Net;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace SiteApp;

// info.c: a JSON description of the request, with info.c's field names: method, target,
// path_base, path (not decoded, as received), query, protocol, remote, local, tls,
// client_cert_bytes, site, headers (as they arrived: [name, value] pairs) and environment.
static class InfoSample {
  public static async Task Answer(HttpContext ctx) {
    var cert = await ctx.Connection.GetClientCertificateAsync(ctx.RequestAborted);
    string target = Respond.RawTarget(ctx);
    int q = target.IndexOf('?');
    string rawPath = q < 0 ? target : target[..q];
    var body = new MemoryStream();
    var options = new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    using (var json = new Utf8JsonWriter(body, options)) {
      json.WriteStartObject();
      json.WriteString("method", ctx.Request.Method);
      json.WriteString("target", target);
      json.WriteString("path_base", ctx.Request.PathBase.Value ?? "");
      json.WriteString("path", PathAfterBase(rawPath, ctx.Request.PathBase.Value ?? ""));
      json.WriteString("query", q < 0 ? "" : target[(q + 1)..]);
      json.WriteString("protocol", ctx.Request.Protocol);
      json.WriteString("remote",
                       Address(ctx.Connection.RemoteIpAddress, ctx.Connection.RemotePort));
      json.WriteString("local", Address(ctx.Connection.LocalIpAddress, ctx.Connection.LocalPort));
      json.WriteBoolean("tls", ctx.Request.IsHttps);
      json.WriteNumber("client_cert_bytes", cert?.RawData.Length ?? 0);
      json.WriteString(
          "site", ctx.RequestServices.GetRequiredService<IWebHostEnvironment>().ApplicationName);
      json.WriteStartArray("headers");
      foreach (var (name, value) in RawHeaders.Of(ctx)) {
        json.WriteStartArray();
        json.WriteStringValue(name);
        json.WriteStringValue(value);
        json.WriteEndArray();
      }
      json.WriteEndArray();
      json.WriteStartObject("environment");
      foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
        json.WriteString((string)e.Key, (string?)e.Value);
      json.WriteEndObject();
      json.WriteEndObject();
    }
    body.WriteByte((byte)'\n');
    ctx.Response.ContentType = "application/json";
    ctx.Response.ContentLength = body.Length;
    await ctx.Response.Body.WriteAsync(body.GetBuffer().AsMemory(0, (int)body.Length),
                                       ctx.RequestAborted);
  }

  // The raw path without the path base: as many segments dropped as the base has (the base is
  // decoded, the raw path is not, so their lengths may differ). "/" when nothing is left.
  static string PathAfterBase(string rawPath, string pathBase) {
    int at = 0;
    int segments = pathBase.Count(c => c == '/');
    for (int i = 0; i < segments && at < rawPath.Length; i++) {
      int next = rawPath.IndexOf('/', at + 1);
      at = next < 0 ? rawPath.Length : next;
    }
    string rest = rawPath[at..];
    return rest.Length == 0 ? "/" : rest;
  }

  static string Address(IPAddress? ip,
                        int port) => ip is null ? "" : new IPEndPoint(ip, port).ToString();
}
