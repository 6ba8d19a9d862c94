using System.Text;

namespace SiteApp;

// Shows that a graceful stop (SIGTERM from the host) reached the app: a line on stdout and, with
// SITEAPP_STOPPING_FILE set, "stopping <pid>" appended to that file.
static class Lifetime {
  public static void ReportStopping(WebApplication app) {
    app.Lifetime.ApplicationStopping.Register(() => {
      int pid = Environment.ProcessId;
      Console.WriteLine($"SiteApp: ApplicationStopping ran (pid {pid})");
      string? file = Environment.GetEnvironmentVariable("SITEAPP_STOPPING_FILE");
      if (string.IsNullOrEmpty(file)) return;
      using var stream =
          new FileStream(file, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
      stream.Write(Encoding.ASCII.GetBytes($"stopping {pid}\n"));
      stream.Flush(flushToDisk: true);
    });
  }
}
