namespace SiteApp;

// SITEAPP_SAMPLE=NAME makes SiteApp also answer as sitehost's C sample app NAME
// (tests/apps/NAME.c, tests/matrix/apps/matrix_app.c): same paths, bodies, headers and status
// codes, so the integration matrix runs its behaviours against Kestrel. Apps that answer every
// path (CatchAll) take "/" too; the app's own endpoints stay in every mode. See README.md.
sealed class Sample {
  public const string Variable = "SITEAPP_SAMPLE";

  Sample(string name, RequestDelegate? catchAll) {
    Name = name;
    CatchAll = catchAll;
  }

  public string Name { get; }
  // Answers every path the app has no endpoint for, and "/".
  public RequestDelegate? CatchAll { get; }
  // The info sample reports the request headers as they arrived (RawHeaders).
  public bool NeedsRawHeaders => Name == "info";

  public static Sample FromEnvironment() {
    string name = Environment.GetEnvironmentVariable(Variable) ?? "";
    return name switch {
      "" or "matrix_app" or "fails_init" => new Sample(name, null),
      "hello" => new Sample(name, SampleApps.Hello),
      "info" => new Sample(name, InfoSample.Answer),
      "echo" => new Sample(name, Bodies.Echo),
      "slow" => new Sample(name, SampleApps.Slow),
      "version" => new Sample(name, SampleApps.Version),
      "abort_probe" => new Sample(name, SampleApps.AbortProbe),
      "ws_echo" => new Sample(name, SampleApps.WebSocket),
      _ => throw new InvalidOperationException(
          $"{Variable}={name} names no sample: hello, info, echo, slow, version, " +
          "abort_probe, ws_echo, matrix_app or fails_init"),
    };
  }

  // What the sample's init does before the app starts: fails_init fails, abort_probe needs
  // its file. A failure here is an unhandled exception: the process exits before it listens.
  public void BeforeBuild() {
    if (Name == "fails_init") {
      Console.Error.WriteLine("fails_init: cannot open database 'orders': connection refused");
      throw new InvalidOperationException("missing setting ORDERS_DB");
    }
    if (Name == "abort_probe" && SampleApps.AbortProbeFile is null)
      throw new InvalidOperationException("ABORT_PROBE_FILE is not set in the environment");
  }

  public void Map(WebApplication app) {
    if (CatchAll is {} all) app.Map("/{**rest}", all);
    if (Name == "matrix_app") {
      app.Map("/status", SampleApps.Status);
      app.Map("/headers", SampleApps.Headers);
      app.Map("/chunked", Bodies.Chunked);
      app.Map("/count", Bodies.Count);
    }
  }
}
