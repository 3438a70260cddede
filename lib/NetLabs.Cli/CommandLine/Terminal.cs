using NetLabs.Display;
using Spectre.Console;

namespace NetLabs.Cli.CommandLine;

/// <summary>
/// Console output: colours, tables and spinners when stdout is a terminal that supports them, plain text when it is
/// redirected (a file, a pipe, a test), so scripts always get plain lines.
/// </summary>
public static class Terminal
{
    public static bool IsInteractive { get; } = !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Ansi;

    public static void Line(string text) => Console.Out.WriteLine(text);

    /// <summary>A line with a style (e.g. "green", "red", "grey") when interactive; the plain text otherwise.</summary>
    public static void Styled(string text, string style)
    {
        if (IsInteractive) AnsiConsole.MarkupLine($"[{style}]{Markup.Escape(text)}[/]");
        else Console.Out.WriteLine(text);
    }

    /// <summary>A library table: drawn with borders on a terminal, aligned plain text otherwise.</summary>
    public static void Table(HtmlTable source)
    {
        if (!IsInteractive)
        {
            Console.Out.Write(source.ToString());
            return;
        }
        var table = new Table { Title = new TableTitle(Markup.Escape(source.Caption)) };
        foreach (var header in source.Headers) table.AddColumn(Markup.Escape(header));
        foreach (var row in source.Rows) table.AddRow(row.Select(Markup.Escape).ToArray());
        AnsiConsole.Write(table);
    }

    /// <summary>Shows a spinner with a message while <paramref name="work"/> runs (interactive only).</summary>
    public static async Task<T> WhileAsync<T>(string message, Func<Task<T>> work)
    {
        if (!IsInteractive) return await work();
        return await AnsiConsole.Status().Spinner(Spinner.Known.Dots).StartAsync(Markup.Escape(message), _ => work());
    }
}
