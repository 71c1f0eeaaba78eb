using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using DataPlane.Bench.Scenarios.Proxy;

namespace DataPlane.Bench.Scenarios.Handoff;

/// <summary>
/// The `dataplane proxy` processes of the handoff scenario, each started with the same arguments on
/// the same handoff socket: the one serving now, and its successors.
/// </summary>
internal sealed partial class ProxyChain : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly string _dataplane;
    private readonly string[] _arguments;
    private readonly List<ExternalProcess> _processes = [];

    public ProxyChain(string dataplane, int port, string[] arguments)
    {
        _dataplane = dataplane;
        _arguments = arguments;
        Current = new ExternalProcess(dataplane, _arguments);
        _processes.Add(Current);
        Current.WaitForPort(port, Patience);
    }

    public ExternalProcess Current { get; private set; }

    /// <summary>
    /// Starts the next process and waits until it took over: returns the time from its start until it
    /// said so (it accepts then; the old process stopped accepting just before), the old process's own
    /// count of that conversation in ms, and how many connections moved.
    /// </summary>
    public (double HandoffMs, double ConversationMs, int Migrated) HandOver()
    {
        var old = Current;
        var clock = Stopwatch.StartNew();
        var next = new ExternalProcess(_dataplane, _arguments);
        _processes.Add(next);
        while (!next.Output.Contains("took over the listeners", StringComparison.Ordinal))
        {
            if (clock.Elapsed > Patience)
            {
                throw new TimeoutException($"the new process did not take over: {next.Output}\n--- old:\n{old.Output}");
            }

            Thread.Sleep(1);
        }

        var handoffMs = clock.Elapsed.TotalMilliseconds;
        Current = next;
        var conversation = HandedOver().Match(old.Output);
        while (!conversation.Success && clock.Elapsed < Patience)
        {
            Thread.Sleep(5);
            conversation = HandedOver().Match(old.Output);
        }

        return (handoffMs,
            conversation.Success ? double.Parse(conversation.Groups[2].Value, CultureInfo.InvariantCulture) : double.NaN,
            conversation.Success ? int.Parse(conversation.Groups[1].Value, CultureInfo.InvariantCulture) : 0);
    }

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            p.Dispose();
        }
    }

    [GeneratedRegex(@"Handed \d+ listeners and (\d+) connections over to process \d+ in (\d+) ms")]
    private static partial Regex HandedOver();
}
