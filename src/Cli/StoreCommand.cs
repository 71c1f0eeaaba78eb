using System.CommandLine;

namespace DataPlane.Cli;

/// <summary>`dataplane store`: the RESP quorum key-value store.</summary>
internal static class StoreCommand
{
    public static Command Create()
    {
        var command = new Command("store", "Runs the RESP quorum key-value store (not built yet: issue #6).")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("dataplane store: the RESP quorum key-value store is not built yet (issue #6).");
            return 2;
        });
        return command;
    }
}
