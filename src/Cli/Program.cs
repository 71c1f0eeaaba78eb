using System.CommandLine;
using DataPlane.Cli;

var root = new RootCommand("DataPlane: native .NET data-plane components (a TCP sidecar proxy, a Kafka-compatible commit log, a Redis-compatible quorum store).");
root.Subcommands.Add(ProxyCommand.Create());
root.Subcommands.Add(LogCommand.Create());
root.Subcommands.Add(StoreCommand.Create());
return await root.Parse(args).InvokeAsync();
