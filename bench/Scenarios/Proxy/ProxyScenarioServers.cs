using System.Globalization;

namespace DataPlane.Bench.Scenarios.Proxy;

/// <summary>
/// The processes of the proxy scenario: nginx as the HTTP upstream, and HAProxy and two `dataplane
/// proxy` processes, each with one listener towards nginx and one towards the bulk sink.
/// </summary>
internal sealed class ProxyScenarioServers : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private readonly List<ExternalProcess> _processes = [];

    public ProxyScenarioServers(string dir, string nginx, string haproxy, string dataplane, int bulkPort)
    {
        try
        {
            NginxPort = ExternalProcess.FreePort();
            Start(nginx, ["-p", dir, "-c", Nginx.WriteConfig(dir, NginxPort)], null, NginxPort);

            Haproxy = (ExternalProcess.FreePort(), ExternalProcess.FreePort());
            File.WriteAllText(Path.Combine(dir, "haproxy.cfg"), string.Create(CultureInfo.InvariantCulture, $"""
                global
                    maxconn 4000
                defaults
                    mode tcp
                    timeout connect 2s
                    timeout client 5m
                    timeout server 5m
                listen http
                    bind 127.0.0.1:{Haproxy.Http}
                    server nginx 127.0.0.1:{NginxPort}
                listen bulk
                    bind 127.0.0.1:{Haproxy.Bulk}
                    server sink 127.0.0.1:{bulkPort}

                """));
            Start(haproxy, ["-f", Path.Combine(dir, "haproxy.cfg"), "-db"], null, Haproxy.Http);

            Dataplane = StartDataplane(dir, dataplane, bulkPort, "epoll");
            DataplaneSockets = StartDataplane(dir, dataplane, bulkPort, "sockets");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public int NginxPort { get; }

    public (int Http, int Bulk) Haproxy { get; }

    public (int Http, int Bulk) Dataplane { get; }

    public (int Http, int Bulk) DataplaneSockets { get; }

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            p.Dispose();
        }
    }

    private (int Http, int Bulk) StartDataplane(string dir, string dataplane, int bulkPort, string transport)
    {
        var ports = (Http: ExternalProcess.FreePort(), Bulk: ExternalProcess.FreePort());
        var config = Path.Combine(dir, $"dataplane-{transport}.json");
        File.WriteAllText(config, string.Create(CultureInfo.InvariantCulture, $$"""
            {
              "listeners": [
                { "name": "http", "listen": "127.0.0.1:{{ports.Http}}", "upstreams": ["127.0.0.1:{{NginxPort}}"] },
                { "name": "bulk", "listen": "127.0.0.1:{{ports.Bulk}}", "upstreams": ["127.0.0.1:{{bulkPort}}"] }
              ]
            }
            """));
        Start(dataplane, ["proxy", "--transport", transport, "--config", config], null, ports.Http);
        return ports;
    }

    private void Start(string file, string[] arguments, IDictionary<string, string>? environment, int port)
    {
        var process = new ExternalProcess(file, arguments, environment);
        _processes.Add(process);
        process.WaitForPort(port, StartTimeout);
    }
}
