using System.Net.WebSockets;
using System.Text;

namespace SiteApp;

// GET /ws: a WebSocket echo. Each message (its fragments joined, up to MaxMessage bytes) comes
// back as one message of the same type, after `prefix`; a close is answered with the same code.
// A request that is not a WebSocket handshake gets 426.
static class WebSocketEcho {
  const int MaxMessage = 16 << 20;

  public static async Task Serve(HttpContext ctx, string prefix) {
    if (!ctx.WebSockets.IsWebSocketRequest) {
      ctx.Response.Headers.Upgrade = "websocket";
      await Respond.Text(ctx,
                         "SiteApp: a WebSocket echo endpoint; connect with a WebSocket client\n",
                         status: StatusCodes.Status426UpgradeRequired);
      return;
    }
    using WebSocket ws = await ctx.WebSockets.AcceptWebSocketAsync();
    try {
      await Echo(ws, Encoding.UTF8.GetBytes(prefix), ctx.RequestAborted);
    } catch (Exception e) when (e is WebSocketException || Respond.ClientGone(e)) {
      // the client went away mid-conversation: nothing to answer
    }
  }

  static async Task Echo(WebSocket ws, byte[] prefix, CancellationToken aborted) {
    var buffer = new byte[64 * 1024];
    var message = new MemoryStream();
    for (;;) {
      message.SetLength(0);
      message.Write(prefix);
      ValueWebSocketReceiveResult part;
      do {
        part = await ws.ReceiveAsync(buffer.AsMemory(), aborted);
        if (part.MessageType == WebSocketMessageType.Close) {
          await ws.CloseOutputAsync(ws.CloseStatus ?? WebSocketCloseStatus.Empty,
                                    ws.CloseStatusDescription, aborted);
          return;
        }
        if (message.Length + part.Count > MaxMessage) {
          await ws.CloseOutputAsync(WebSocketCloseStatus.MessageTooBig, "message too big", aborted);
          return;
        }
        message.Write(buffer, 0, part.Count);
      } while (!part.EndOfMessage);
      await ws.SendAsync(message.GetBuffer().AsMemory(0, (int)message.Length), part.MessageType,
                         endOfMessage: true, aborted);
    }
  }
}
