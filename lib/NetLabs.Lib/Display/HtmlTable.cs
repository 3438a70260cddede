using System.Text;
using System.Net;

namespace NetLabs.Display;

/// <summary>A simple captioned HTML table (results, logs, report cards).</summary>
public sealed class HtmlTable(string caption, IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows) : IHtmlDisplay
{
    public string Caption { get; } = caption;
    public IReadOnlyList<string> Headers { get; } = headers;
    public IReadOnlyList<IReadOnlyList<string>> Rows { get; } = rows.ToList();

    public string ToHtml()
    {
        var html = new StringBuilder();
        html.Append("<table class=\"netlabs-table\" style=\"border-collapse:collapse;font-family:monospace\">");
        html.Append("<caption style=\"text-align:left;font-weight:bold\">").Append(WebUtility.HtmlEncode(Caption)).Append("</caption><thead><tr>");
        foreach (var header in Headers)
            html.Append("<th style=\"text-align:left;border-bottom:1px solid #888;padding:2px 8px\">").Append(WebUtility.HtmlEncode(header)).Append("</th>");
        html.Append("</tr></thead><tbody>");
        foreach (var row in Rows)
        {
            html.Append("<tr>");
            foreach (var cell in row)
                html.Append("<td style=\"padding:2px 8px\">").Append(WebUtility.HtmlEncode(cell)).Append("</td>");
            html.Append("</tr>");
        }
        return html.Append("</tbody></table>").ToString();
    }

    /// <summary>Plain text, columns aligned: what a console or a test log shows.</summary>
    public override string ToString()
    {
        var widths = Headers.Select((h, i) => Rows.Select(r => i < r.Count ? r[i].Length : 0).Append(h.Length).Max()).ToArray();
        var text = new StringBuilder(Caption).AppendLine();
        text.AppendLine(string.Join("  ", Headers.Select((h, i) => h.PadRight(widths[i]))).TrimEnd());
        foreach (var row in Rows)
            text.AppendLine(string.Join("  ", row.Select((c, i) => c.PadRight(i < widths.Length ? widths[i] : 0))).TrimEnd());
        return text.ToString();
    }
}
