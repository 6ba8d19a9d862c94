using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Http.Features;

namespace SiteApp;

// Small helpers the endpoints share: whole answers with a Content-Length, query numbers, and
// telling a client that went away from a real error.
static class Respond {
  public static Task Text(HttpContext ctx, string body, string? contentType = "text/plain",
                          int status = 200) {
    byte[] bytes = Encoding.UTF8.GetBytes(body);
    ctx.Response.StatusCode = status;
    if (contentType is not null) ctx.Response.ContentType = contentType;
    ctx.Response.ContentLength = bytes.Length;
    return ctx.Response.Body.WriteAsync(bytes, ctx.RequestAborted).AsTask();
  }

  // ?name=N clamped to [min, max]; `fallback` when absent or not a number.
  public static long Query(HttpContext ctx, string name, long fallback, long min, long max) {
    string? text = ctx.Request.Query[name];
    if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long n))
      n = fallback;
    return Math.Clamp(n, min, max);
  }

  // The request-target as received (path base included, not decoded, with the query).
  public static string RawTarget(HttpContext ctx) =>
      ctx.Features.Get<IHttpRequestFeature>()?.RawTarget ?? ctx.Request.GetEncodedPathAndQuery();

  // Bodies of any size: the host in front filters request sizes (maxAllowedContentLength),
  // Kestrel's own 30 MB default must not cut a streamed echo.
  public static void NoBodyLimit(HttpContext ctx) {
    var limit = ctx.Features.Get<IHttpMaxRequestBodySizeFeature>();
    if (limit is { IsReadOnly : false }) limit.MaxRequestBodySize = null;
  }

  // The client (or the proxy in front) closed the connection, or the request was aborted.
  public static bool ClientGone(Exception e) => e is OperationCanceledException or
      ConnectionResetException or IOException or BadHttpRequestException;
}
