using System.Net;
using System.Text;
using NetLabs.Display;

namespace NetLabs.Checks;

/// <summary>The outcome of one check: what was tried, whether it worked, and what to look at when it did not.</summary>
public sealed record CheckResult(string Name, bool Passed, string Hint, string Detail, TimeSpan Duration)
{
    public override string ToString() => Passed
        ? $"PASS {Name}: {Detail}"
        : $"FAIL {Name}: {Detail} (hint: {Hint})";
}

/// <summary>
/// A student's report card for one lab: one row per check. Its text form starts with one summary line,
/// <c>report card 01-web-server: 6 passed, 0 failed</c>. <c>netlabs notebooks check</c> never reads it back from a
/// notebook (a student's code could print one): its judge makes its own card (see <c>Checks/Grading/</c>).
/// </summary>
public sealed class ReportCard(string lab, IReadOnlyList<CheckResult> results) : IHtmlDisplay
{
    public const string SummaryPrefix = "report card ";

    public string Lab { get; } = lab;
    public IReadOnlyList<CheckResult> Results { get; } = results;
    public int Passed => Results.Count(r => r.Passed);
    public int Failed => Results.Count - Passed;
    public bool AllPassed => Failed == 0 && Results.Count > 0;

    /// <summary>"report card 01-web-server: 6 passed, 0 failed"</summary>
    public string SummaryLine => $"{SummaryPrefix}{Lab}: {Passed} passed, {Failed} failed";

    /// <summary>Finds a <see cref="SummaryLine"/> in a text (a line, an HTML output) and reads it back; false when there is none.</summary>
    public static bool TryParseSummary(string line, out string lab, out int passed, out int failed)
    {
        lab = "";
        passed = failed = 0;
        var match = System.Text.RegularExpressions.Regex.Match(line, @"report card (\S+): (\d+) passed, (\d+) failed");
        if (!match.Success) return false;
        lab = match.Groups[1].Value;
        passed = int.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        failed = int.Parse(match.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture);
        return true;
    }

    public override string ToString()
    {
        var text = new StringBuilder(SummaryLine);
        foreach (var result in Results) text.Append('\n').Append("  ").Append(result);
        return text.ToString();
    }

    public string ToHtml()
    {
        var html = new StringBuilder();
        var colour = AllPassed ? "#1b7f3b" : "#b3261e";
        html.Append($"<div class=\"netlabs-report-card\"><p style=\"font-weight:bold;color:{colour}\">")
            .Append(WebUtility.HtmlEncode(SummaryLine)).Append("</p>")
            .Append("<table><thead><tr><th></th><th>check</th><th>result</th><th>hint</th></tr></thead><tbody>");
        foreach (var r in Results)
        {
            html.Append("<tr><td>").Append(r.Passed ? "✅" : "❌").Append("</td><td>").Append(WebUtility.HtmlEncode(r.Name))
                .Append("</td><td>").Append(WebUtility.HtmlEncode(r.Detail)).Append("</td><td>")
                .Append(r.Passed ? "" : WebUtility.HtmlEncode(r.Hint)).Append("</td></tr>");
        }
        // The summary line in plain text too, so it is in the HTML output whatever the reader looks at.
        return html.Append("</tbody></table><!-- ").Append(WebUtility.HtmlEncode(SummaryLine)).Append(" --></div>").ToString();
    }
}
