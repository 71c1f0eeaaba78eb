using System.Globalization;
using System.Text.RegularExpressions;

namespace DataPlane.Proxy.Tests.Support;

/// <summary>
/// wrk's "Socket errors: connect N, read N, write N, timeout N" line, all zero when it prints none.
/// What each count means, from wrk 4.1's source (src/wrk.c) and measured: <see cref="Connect"/> counts
/// only wrk's own socket()/connect() calls that failed at once (anything but EINPROGRESS: no local port,
/// no memory or descriptors) and sockets its event loop could not take, all before a packet reached the
/// server. A connect the server refuses or resets completes later, and the first write or read on it
/// fails: a listener closed under wrk gave "connect 0, read 4, write 1799". So a refused or reset client
/// shows in <see cref="Read"/> and <see cref="Write"/>; <see cref="Timeout"/> counts responses slower than
/// wrk's timeout (2 s).
/// </summary>
internal readonly partial record struct WrkSocketErrors(int Connect, int Read, int Write, int Timeout)
{
    /// <summary>The counts in a wrk report.</summary>
    public static WrkSocketErrors Parse(string output)
    {
        var match = Line().Match(output);
        return match.Success
            ? new WrkSocketErrors(Count(match, 1), Count(match, 2), Count(match, 3), Count(match, 4))
            : default;
    }

    private static int Count(Match match, int group) => int.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex Line();
}
