using System.CommandLine;

namespace DataPlane.Cli;

/// <summary>`dataplane log`: the Kafka-protocol commit log.</summary>
internal static class LogCommand
{
    public static Command Create()
    {
        var command = new Command("log", "Runs the Kafka-protocol commit log (not built yet: issue #5).")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("dataplane log: the Kafka-protocol commit log is not built yet (issue #5).");
            return 2;
        });
        return command;
    }
}
