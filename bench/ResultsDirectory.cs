namespace DataPlane.Bench;

internal static class ResultsDirectory
{
    /// <summary>
    /// <c>bench/results</c> of the checkout the bench was built from: found by walking up from the
    /// binary to the directory that holds DataPlane.sln, so it does not depend on the working directory.
    /// </summary>
    public static string Locate()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "DataPlane.sln")))
            {
                return Directory.CreateDirectory(Path.Combine(dir.FullName, "bench", "results")).FullName;
            }
        }

        return Directory.CreateDirectory(Path.Combine(Environment.CurrentDirectory, "bench-results")).FullName;
    }
}
