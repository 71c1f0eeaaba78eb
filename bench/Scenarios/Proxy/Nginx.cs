using System.Globalization;

namespace DataPlane.Bench.Scenarios.Proxy;

/// <summary>nginx as the HTTP upstream of the proxy scenarios: one worker answering 200 from memory.</summary>
internal static class Nginx
{
    /// <summary>Writes the configuration for a server on 127.0.0.1:<paramref name="port"/> into <paramref name="dir"/>; returns its path.</summary>
    public static string WriteConfig(string dir, int port)
    {
        var path = Path.Combine(dir, "nginx.conf");
        File.WriteAllText(path, string.Create(CultureInfo.InvariantCulture, $$"""
            daemon off;
            master_process off;
            worker_processes 1;
            pid {{dir}}/nginx.pid;
            error_log {{dir}}/nginx-error.log warn;
            events { worker_connections 8192; }
            http {
                access_log off;
                keepalive_requests 10000000;
                client_body_temp_path {{dir}}/body;
                proxy_temp_path {{dir}}/proxy;
                fastcgi_temp_path {{dir}}/fastcgi;
                uwsgi_temp_path {{dir}}/uwsgi;
                scgi_temp_path {{dir}}/scgi;
                server {
                    listen 127.0.0.1:{{port}} backlog=4096;
                    location / { return 200 "hello from nginx\n"; }
                }
            }
            """));
        return path;
    }
}
