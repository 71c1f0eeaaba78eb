using System.CommandLine;

namespace DataPlane.Cli;

/// <summary>`dataplane proxy`: the TCP sidecar proxy.</summary>
internal static class ProxyCommand
{
    public static Command Create()
    {
        var command = new Command("proxy", "Runs the TCP sidecar proxy (not built yet: issue #9).")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("dataplane proxy: the TCP sidecar proxy is not built yet (issue #9).");
            return 2;
        });
        return command;
    }
}
