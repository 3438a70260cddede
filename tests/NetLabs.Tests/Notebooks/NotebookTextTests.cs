using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using NetLabs.Cli.Notebooks;
using NetLabs.Display;
using NetLabs.Tests.Support;

namespace NetLabs.Tests.Notebooks;

/// <summary>
/// What the notebooks' text says about the library is what the library is. Code cells prove themselves by running;
/// text cells are checked here:
/// - a library code block (a ```csharp block whose first line is a comment naming its file, <c>// lib/NetLabs.Lib/….cs</c>)
///   occurs in that file line by line, indentation aside; a line "…" in the block stands for lines left out;
/// - a member named in inline code as <c>`Type.Member`</c>, where Type is a NetLabs type, exists.
/// </summary>
public sealed partial class NotebookTextTests
{
    public static TheoryData<string> LabNotebooks() => new(NotebookFiles.In(RepoPaths.Notebooks).Select(Path.GetFileName)!);

    [Theory]
    [MemberData(nameof(LabNotebooks))]
    public void Library_code_shown_in_the_text_is_the_code_in_the_library(string notebook)
    {
        foreach (var block in LibraryCodeBlocks(Markdown(notebook)))
        {
            var source = File.ReadAllLines(Path.Combine(RepoPaths.Root, block.File)).Select(l => l.Trim()).ToArray();
            var missing = FirstLineNotInSource(block.Lines, source);
            Assert.True(missing is null, $"{notebook} shows code from {block.File} that is not in it: \"{missing}\"");
        }
    }

    [Theory]
    [MemberData(nameof(LabNotebooks))]
    public void Library_members_named_in_the_text_exist(string notebook)
    {
        var types = typeof(IHtmlDisplay).Assembly.GetTypes().Where(t => t.IsPublic || t.IsNestedPublic || !t.IsNested)
            .GroupBy(t => t.Name.Split('`')[0]).ToDictionary(g => g.Key, g => g.ToList());
        foreach (Match name in MemberInCode().Matches(Markdown(notebook)))
        {
            if (!types.TryGetValue(name.Groups["type"].Value, out var candidates)) continue;   // not ours (Console.WriteLine, …)
            var member = name.Groups["member"].Value;
            Assert.True(candidates.Any(t => t.GetMember(member, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static).Length > 0),
                $"{notebook} names `{name.Groups["type"].Value}.{member}`, which the library does not have.");
        }
    }

    [Fact]
    public void The_checks_find_what_they_look_for()
    {
        var blocks = LibraryCodeBlocks(Markdown("01-web-server.ipynb")).ToList();
        Assert.NotEmpty(blocks);   // the accept loop is shown, so the check above has something to check
        var source = new[] { "while (true)", "{", "a();", "b();", "c();", "}" };
        Assert.Null(FirstLineNotInSource(["while (true)", "{", "a();", "…", "c();", "}"], source));
        Assert.Equal("x();", FirstLineNotInSource(["while (true)", "{", "x();"], source));
        Assert.Equal("a();", FirstLineNotInSource(["c();", "a();"], source));   // in order
    }

    private static string Markdown(string notebook)
    {
        var cells = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.Notebooks, notebook)))!["cells"]!.AsArray();
        return string.Join("\n\n", cells.Where(c => (string?)c!["cell_type"] == "markdown").Select(c => NotebookHtml.Text(c!["source"])));
    }

    private sealed record CodeBlock(string File, IReadOnlyList<string> Lines);

    private static IEnumerable<CodeBlock> LibraryCodeBlocks(string markdown)
    {
        foreach (Match block in FencedCSharp().Matches(markdown))
        {
            var lines = block.Groups["code"].Value.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
            if (lines.Count == 0 || LibraryFile().Match(lines[0]) is not { Success: true } file) continue;
            yield return new CodeBlock(file.Groups["file"].Value, lines.Skip(1).ToList());
        }
    }

    /// <summary>The first shown line that does not come next in the source (null when all do); "…" skips ahead.</summary>
    private static string? FirstLineNotInSource(IReadOnlyList<string> shown, string[] source)
    {
        for (var start = 0; start < source.Length; start++)
        {
            if (source[start] != shown[0]) continue;
            if (MatchesFrom(shown, 0, source, start)) return null;
        }
        // Report the longest prefix that matched somewhere, so the message names the line that differs.
        for (var count = shown.Count - 1; count > 0; count--)
        {
            var prefix = shown.Take(count).ToList();
            if (Enumerable.Range(0, source.Length).Any(s => source[s] == prefix[0] && MatchesFrom(prefix, 0, source, s)))
                return shown.Skip(count).First(l => l != "…");
        }
        return shown[0];
    }

    private static bool MatchesFrom(IReadOnlyList<string> shown, int i, string[] source, int at)
    {
        if (i == shown.Count) return true;
        if (shown[i] == "…")
        {
            for (var next = at; next <= source.Length; next++)
                if (MatchesFrom(shown, i + 1, source, next)) return true;
            return false;
        }
        return at < source.Length && source[at] == shown[i] && MatchesFrom(shown, i + 1, source, at + 1);
    }

    [GeneratedRegex(@"```csharp\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex FencedCSharp();

    [GeneratedRegex(@"^// (?<file>lib/NetLabs\.Lib/[\w/]+\.cs)\b")]
    private static partial Regex LibraryFile();

    [GeneratedRegex(@"`(?<type>[A-Z]\w+)\.(?<member>[A-Z]\w+)(\([^`]*\))?`")]
    private static partial Regex MemberInCode();
}
