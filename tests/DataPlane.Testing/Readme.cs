using System.Runtime.CompilerServices;
using System.Text;

namespace DataPlane.Testing;

/// <summary>
/// Keeps the README's code samples honest: a sample is a <c>#region readme-NAME</c> inside a test that
/// runs it, and the README holds the same lines in the code block after <c>&lt;!-- snippet: NAME --&gt;</c>.
/// </summary>
public static class Readme
{
    /// <summary>The lines of <c>#region readme-NAME</c> in the calling source file, de-indented.</summary>
    public static string Region(string name, [CallerFilePath] string sourceFile = "")
    {
        var lines = File.ReadAllLines(sourceFile);
        var start = Array.FindIndex(lines, l => l.Trim() == $"#region readme-{name}");
        var end = Array.FindIndex(lines, start + 1, l => l.Trim() == "#endregion");
        if (start < 0 || end < 0)
        {
            throw new InvalidOperationException($"No '#region readme-{name}' ... '#endregion' in {sourceFile}.");
        }

        var body = lines[(start + 1)..end];
        var indent = body.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
        return Join(body.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart()));
    }

    /// <summary>The code block that follows <c>&lt;!-- snippet: NAME --&gt;</c> in README.md.</summary>
    public static string Snippet(string name)
    {
        var lines = File.ReadAllLines(Path.Combine(RepositoryRoot(), "README.md"));
        var marker = Array.FindIndex(lines, l => l.Trim() == $"<!-- snippet: {name} -->");
        if (marker < 0)
        {
            throw new InvalidOperationException($"README.md has no '<!-- snippet: {name} -->'.");
        }

        var open = Array.FindIndex(lines, marker + 1, l => l.StartsWith("```", StringComparison.Ordinal));
        var close = Array.FindIndex(lines, open + 1, l => l.StartsWith("```", StringComparison.Ordinal));
        return Join(lines[(open + 1)..close]);
    }

    /// <summary>The checkout's root: the nearest directory above the test binary that holds DataPlane.sln.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "DataPlane.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("No DataPlane.sln above " + AppContext.BaseDirectory);
    }

    private static string Join(IEnumerable<string> lines) =>
        new StringBuilder().AppendJoin('\n', lines.Select(l => l.TrimEnd())).ToString().Trim('\n');
}
