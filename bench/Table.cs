using System.Text;

namespace DataPlane.Bench;

/// <summary>A Markdown table that also reads well on a console.</summary>
internal sealed class Table(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public Table Add(params object[] cells)
    {
        _rows.Add(Array.ConvertAll(cells, c => c switch
        {
            double d => d.ToString(Math.Abs(d) >= 100 ? "F0" : Math.Abs(d) >= 10 ? "F1" : "F3", System.Globalization.CultureInfo.InvariantCulture),
            _ => Convert.ToString(c, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty,
        }));
        return this;
    }

    public override string ToString()
    {
        var widths = new int[headers.Length];
        for (var i = 0; i < headers.Length; i++)
        {
            widths[i] = Math.Max(3, _rows.Aggregate(headers[i].Length, (w, r) => Math.Max(w, r[i].Length)));
        }

        var text = new StringBuilder();
        Line(text, headers, widths);
        Line(text, Array.ConvertAll(widths, w => new string('-', w)), widths);
        foreach (var row in _rows)
        {
            Line(text, row, widths);
        }

        return text.ToString();
    }

    private static void Line(StringBuilder text, string[] cells, int[] widths)
    {
        text.Append('|');
        for (var i = 0; i < cells.Length; i++)
        {
            text.Append(' ').Append(cells[i].PadRight(widths[i])).Append(" |");
        }

        text.AppendLine();
    }
}
