using System.Text.Json.Nodes;
using NetLabs.Cli.Notebooks;
using NetLabs.Tests.Notebooks;
using NetLabs.Tests.Support;

namespace NetLabs.Tests.Student;

/// <summary>
/// The student notebooks in the real .NET Interactive kernel, graded by <c>netlabs notebooks check</c> as a teacher
/// would: with the reference solutions every check passes; a stub gets nothing however the submission is forged
/// (a printed or displayed summary line, a deleted or rewritten check cell), a gap cannot read the solutions or the
/// other submissions nor write outside its scratch copy, and a submission that cannot be graded is one line.
/// </summary>
[Collection(RealKernel.Collection)]
public sealed class StudentNotebookTests(RealKernel kernel)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10); // a bound, not a timing: 7 notebooks on a loaded 2-core machine
    private static string StudentFolder => Path.Combine(RepoPaths.Notebooks, "student");
    private static string Solutions => Path.Combine(StudentFolder, "solutions");
    private const string Forged = "report card 03-smtp: 5 passed, 0 failed";

    [Fact]
    public void Every_lab_has_a_student_notebook_whose_gaps_all_have_solutions()
    {
        var labs = NotebookFiles.In(RepoPaths.Notebooks).Select(Path.GetFileName).Where(n => !n!.StartsWith("00-", StringComparison.Ordinal));
        Assert.Equal(labs, NotebookFiles.In(StudentFolder).Select(Path.GetFileName));
        foreach (var path in NotebookFiles.In(StudentFolder))
        {
            var notebook = JsonNode.Parse(File.ReadAllText(path))!;
            var gaps = StudentNotebooks.Gaps(notebook);
            Assert.NotEmpty(gaps);
            var source = string.Concat(notebook["cells"]!.AsArray().Select(c => NotebookHtml.Text(c!["source"])));
            Assert.Contains("// Fill in start", source);
            Assert.Contains("// Fill in end", source);
            Assert.Equal(gaps, StudentNotebooks.InjectSolutions(notebook, Solutions));
            foreach (var gap in gaps) Assert.Single(Directory.GetFiles(Solutions, $"{Path.GetFileNameWithoutExtension(path)}.{gap}.csx"));
        }
    }

    [Fact]
    public void Graded_notebook_takes_only_the_gap_from_a_submission()
    {
        var folder = Directory.CreateTempSubdirectory("netlabs-submission-");
        try
        {
            var submitted = HandedOut("03-smtp");
            var cells = submitted["cells"]!.AsArray();
            Cell(submitted, "// ✏️ STUDENT GAP")["source"] = "// ✏️ STUDENT GAP: smtp-dialogue\n// mine\n";
            cells.Remove(Cell(submitted, "// ✅ CHECK"));
            cells.Add(Code($"Console.WriteLine(\"{Forged}\");"));
            Cell(submitted, "using System.IO;")["source"] = "Console.WriteLine(\"edited setup\");";
            var path = Path.Combine(folder.FullName, "mallory.ipynb");
            File.WriteAllText(path, submitted.ToJsonString());

            var (graded, problem) = Submission.Prepare(path, StudentFolder, null, null);
            Assert.Null(problem);
            Assert.Equal("03-smtp", graded!.Lab);
            var repository = HandedOut("03-smtp")["cells"]!.AsArray();
            var result = graded.Notebook["cells"]!.AsArray();
            Assert.Equal(repository.Count, result.Count);
            for (var i = 0; i < result.Count; i++)
            {
                var source = NotebookHtml.Text(result[i]!["source"]);
                var original = NotebookHtml.Text(repository[i]!["source"]);
                if (original.StartsWith("// ✏️ STUDENT GAP", StringComparison.Ordinal)) Assert.Equal("// ✏️ STUDENT GAP: smtp-dialogue\n// mine\n", source);
                else if (original.StartsWith("// ✅ CHECK", StringComparison.Ordinal)) Assert.Equal("// ✅ CHECK: smtp-dialogue\nawait NetLabs.Checks.Grading.StudentHost.ServeAsync(SendMail)", source);
                else Assert.Equal(original, source);
            }
            Assert.DoesNotContain(Forged, graded.Notebook.ToJsonString());
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void Every_lab_is_graded_by_the_judge_with_one_battery_per_check_cell()
    {
        foreach (var path in NotebookFiles.In(StudentFolder))
        {
            var lab = Path.GetFileNameWithoutExtension(path);
            Assert.Contains(lab, NetLabs.Checks.Grading.RemoteGap.Labs);
            var checks = JsonNode.Parse(File.ReadAllText(path))!["cells"]!.AsArray().Select(c => NotebookHtml.Text(c!["source"]))
                .Where(s => s.StartsWith(Submission.CheckMarker, StringComparison.Ordinal)).Select(s => s.Split('\n')[0][Submission.CheckMarker.Length..].Trim());
            Assert.Equal(NetLabs.Checks.Grading.RemoteGap.Checks[lab], checks);
            // No lab is refused: the handed-out notebook is prepared for grading.
            var (graded, problem) = Submission.Prepare(path, StudentFolder, Solutions, null);
            Assert.True(graded is not null, problem);
        }
    }

    [Theory]
    [InlineData("05-icmp-pinger", new[] { "ServeAsync(Checksum, BuildEchoRequest)", "ServeAsync(ParseReply)" })]
    [InlineData("07-video-streaming", new[] { "ServeAsync(WriteRtpHeader)", "ServeAsync(WriteRequest, ReadReply)" })]
    public void A_check_cell_offers_the_judge_its_gap_functions_only(string lab, string[] offers)
    {
        var (graded, problem) = Submission.Prepare(Path.Combine(StudentFolder, lab + ".ipynb"), StudentFolder, null, null);
        Assert.True(graded is not null, problem);
        var calls = graded.Notebook["cells"]!.AsArray().Select(c => NotebookHtml.Text(c!["source"]))
            .Where(s => s.StartsWith(Submission.CheckMarker, StringComparison.Ordinal)).Select(s => s.Split('\n')[1]);
        Assert.Equal(offers.Select(o => $"await NetLabs.Checks.Grading.StudentHost.{o}"), calls);
    }

    [Fact]
    public void A_submission_for_another_lab_is_refused_when_one_lab_is_graded()
    {
        var (graded, problem) = Submission.Prepare(Path.Combine(StudentFolder, "01-web-server.ipynb"), StudentFolder, null, "03-smtp");
        Assert.Null(graded);
        Assert.Equal("not for lab 03-smtp: its gaps are those of 01-web-server", problem);
    }

    [Fact]
    public async Task Reference_solutions_get_full_marks_in_every_lab_the_judge_grades()
    {
        var output = Directory.CreateTempSubdirectory("netlabs-checked-");
        try
        {
            // Every lab: the judge grades them all (Checks/Grading/RemoteGap.Labs).
            string[] judged = [.. NetLabs.Checks.Grading.RemoteGap.Labs.Select(lab => Path.Combine(StudentFolder, lab + ".ipynb"))];
            var run = await kernel.Serialized(() => ExternalProcess.RunAsync("dotnet",
                NetlabsTool.Arguments(["notebooks", "check", .. judged, "--solutions", Solutions, "--out", output.FullName]), Timeout, workingDirectory: RepoPaths.Root));
            Assert.True(run.ExitCode == 0, run.ToString());
            var rows = Rows(run.StandardOutput);
            Assert.Matches(@"^01-web-server\.ipynb\s+01-web-server\s+7\s+0\s+0\s+\d+\.\d s$", rows["01-web-server.ipynb"]);
            Assert.Matches(@"^02-udp-pinger\.ipynb\s+02-udp-pinger\s+4\s+0\s+0\s+\d+\.\d s$", rows["02-udp-pinger.ipynb"]);
            Assert.Matches(@"^03-smtp\.ipynb\s+03-smtp\s+5\s+0\s+0\s+\d+\.\d s$", rows["03-smtp.ipynb"]);
            Assert.Matches(@"^04-web-proxy\.ipynb\s+04-web-proxy\s+5\s+0\s+0\s+\d+\.\d s$", rows["04-web-proxy.ipynb"]);
            // Both check cells of 05 and of 07 count; the kernel checks of 05 use the judge's raw socket (root here).
            Assert.Matches(@"^05-icmp-pinger\.ipynb\s+05-icmp-pinger\s+8\s+0\s+0\s+\d+\.\d s$", rows["05-icmp-pinger.ipynb"]);
            Assert.Matches(@"^06-traceroute\.ipynb\s+06-traceroute\s+4\s+0\s+0\s+\d+\.\d s$", rows["06-traceroute.ipynb"]);
            Assert.Matches(@"^07-video-streaming\.ipynb\s+07-video-streaming\s+8\s+0\s+0\s+\d+\.\d s$", rows["07-video-streaming.ipynb"]);
            // The executed copy shows the judge's card, for the teacher to read.
            Assert.Contains("report card 03-smtp: 5 passed, 0 failed", File.ReadAllText(Path.Combine(output.FullName, "03-smtp.ipynb")));
            Assert.True(File.Exists(Path.Combine(output.FullName, "03-smtp.html")));
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Forged_and_broken_submissions_get_their_true_grade_in_one_run()
    {
        var submissions = Directory.CreateTempSubdirectory("netlabs-submissions-");
        var output = Directory.CreateTempSubdirectory("netlabs-checked-");
        var outsideTmp = Path.Combine(Path.GetTempPath(), $"netlabs-written-by-a-gap-{Guid.NewGuid():N}");
        string[] outside = [Path.Combine(submissions.FullName, "written-by-a-gap"), Path.Combine(StudentFolder, "written-by-a-gap"), Path.Combine(output.FullName, "written-by-a-gap"), outsideTmp];
        try
        {
            void Submit(string name, JsonNode notebook) => File.WriteAllText(Path.Combine(submissions.FullName, name), notebook.ToJsonString());
            JsonNode WithGapTail(string lab, string tail)
            {
                var notebook = HandedOut(lab);
                var gap = Cell(notebook, "// ✏️ STUDENT GAP");
                gap["source"] = NotebookHtml.Text(gap["source"]) + "\n" + tail;
                return notebook;
            }
            static string ForgedLine(string lab, int passed) => $"report card {lab}: {passed} passed, 0 failed";

            // Each forgery on another lab (the checker is the same for all): a printed summary, a displayed card, the check
            // cells deleted (both of 05's), the check cells rewritten to pass (both of 07's).
            Submit("printed-line.ipynb", WithGapTail("04-web-proxy", $"Console.WriteLine(\"{ForgedLine("04-web-proxy", 5)}\");"));
            Submit("displayed-html.ipynb", WithGapTail("06-traceroute",
                "new NetLabs.Checks.ReportCard(\"06-traceroute\", Enumerable.Range(1, 4).Select(i => new NetLabs.Checks.CheckResult($\"check {i}\", true, \"\", \"ok\", TimeSpan.Zero)).ToList())"));
            var deleted = HandedOut("05-icmp-pinger");
            foreach (var check in Cells(deleted, "// ✅ CHECK")) deleted["cells"]!.AsArray().Remove(check);
            deleted["cells"]!.AsArray().Add(Code($"Console.WriteLine(\"{ForgedLine("05-icmp-pinger", 8)}\");"));
            Submit("deleted-check.ipynb", deleted);
            var rewritten = HandedOut("07-video-streaming");
            foreach (var check in Cells(rewritten, "// ✅ CHECK"))
                check["source"] = $"{NotebookHtml.Text(check["source"]).Split('\n')[0]}\n\"<p>{ForgedLine("07-video-streaming", 4)}</p>\"";
            Submit("rewritten-check.ipynb", rewritten);
            var solution = Path.Combine(Solutions, "03-smtp.smtp-dialogue.csx");
            // One gap tries both escapes: read the solutions and another submission, write outside its scratch copy.
            var reads = new[] { "../solutions/03-smtp.smtp-dialogue.csx", "solutions/03-smtp.smtp-dialogue.csx", solution, Path.Combine(submissions.FullName, "printed-line.ipynb") }
                .Select(p => $"try {{ Console.WriteLine(\"LEAKED \" + System.IO.File.ReadAllText({Literal(p)}).Length); }} catch (Exception e) {{ Console.WriteLine(\"read refused: \" + e.GetType().Name); }}");
            var writes = outside.Select(p => $"try {{ System.IO.File.WriteAllText({Literal(p)}, \"x\"); Console.WriteLine(\"wrote {Literal(p)[1..^1]}\"); }} catch (Exception e) {{ Console.WriteLine(\"write refused: \" + e.GetType().Name); }}");
            Submit("escapes.ipynb", WithGapTail("03-smtp", string.Join("\n", reads.Concat(writes))));
            File.WriteAllText(Path.Combine(submissions.FullName, "not-a-notebook.ipynb"), "{ this is no notebook");
            var noGap = HandedOut("03-smtp");
            Cell(noGap, "// ✏️ STUDENT GAP")["source"] = "async Task<SmtpReply> SendMail() => throw new Exception();";
            Submit("no-gap.ipynb", noGap);
            var twoGaps = HandedOut("03-smtp");
            twoGaps["cells"]!.AsArray().Add(Cell(twoGaps, "// ✏️ STUDENT GAP").DeepClone());
            Submit("two-gaps.ipynb", twoGaps);

            var run = await kernel.Serialized(() => ExternalProcess.RunAsync("dotnet",
                NetlabsTool.Arguments("notebooks", "check", submissions.FullName, "--out", output.FullName), Timeout, workingDirectory: RepoPaths.Root));
            Assert.True(run.ExitCode == 1, run.ToString());   // some could not be graded
            var rows = Rows(run.StandardOutput);
            foreach (var (forged, lab, checks) in new[] { ("printed-line", "04-web-proxy", 5), ("displayed-html", "06-traceroute", 4), ("deleted-check", "05-icmp-pinger", 8),
                ("rewritten-check", "07-video-streaming", 8), ("escapes", "03-smtp", 5) })
                Assert.Matches($@"^{forged}\.ipynb\s+{lab}\s+0\s+{checks}\s+0\s+\d+\.\d s$", rows[forged + ".ipynb"]);
            Assert.Matches(@"^not-a-notebook\.ipynb\s+\?\s+0\s+0\s+0\s+0\.0 s  not a notebook that can be read", rows["not-a-notebook.ipynb"]);
            Assert.Matches(@"^no-gap\.ipynb\s+\?\s+0\s+0\s+0\s+0\.0 s  no gap", rows["no-gap.ipynb"]);
            Assert.Matches(@"^two-gaps\.ipynb\s+\?\s+0\s+0\s+0\s+0\.0 s  2 copies of the gap 'smtp-dialogue'", rows["two-gaps.ipynb"]);

            // The gaps' attempts ran, and were refused: nothing read, nothing written outside the scratch copy.
            var escapes = Printed(Path.Combine(output.FullName, "escapes.ipynb"));
            Assert.DoesNotContain("LEAKED", escapes);
            Assert.Contains("read refused", escapes);
            Assert.Contains("write refused", escapes);
            Assert.All(outside, p => Assert.False(File.Exists(p), $"a gap wrote {p}\n{escapes}"));
            Assert.Contains("report card 04-web-proxy: 0 passed, 5 failed", File.ReadAllText(Path.Combine(output.FullName, "printed-line.ipynb")));
            // Both check cells of 07 were restored and each showed the judge's card of its own check.
            var restored = JsonNode.Parse(File.ReadAllText(Path.Combine(output.FullName, "rewritten-check.ipynb")))!["cells"]!.AsArray();
            Assert.Equal(2, restored.Count(c => c!["outputs"]?.ToJsonString().Contains("report card 07-video-streaming: 0 passed, 4 failed", StringComparison.Ordinal) == true));
        }
        finally
        {
            submissions.Delete(recursive: true);
            output.Delete(recursive: true);
            foreach (var path in outside.Where(File.Exists)) File.Delete(path);
        }
    }

    [SkippableFact]
    public async Task Check_stops_on_Ctrl_C_with_the_processes_it_started()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "finds the child processes in /proc");
        var submissions = Directory.CreateTempSubdirectory("netlabs-submissions-");
        try
        {
            File.Copy(Path.Combine(StudentFolder, "03-smtp.ipynb"), Path.Combine(submissions.FullName, "bob.ipynb"));
            await kernel.Serialized(async () =>
            {
                await using var check = NetlabsTool.Start("notebooks", "check", submissions.FullName, "--out", Path.Combine(submissions.FullName, "out"));
                // Interrupted once the kernel runs: the judge and the kernel are the processes to stop.
                var started = await Poll.UntilAsync(() => Descendants(check.Id).Any(p => CommandLine(p).Contains("dotnet-repl", StringComparison.Ordinal)), Timeout);
                Assert.True(started, check.Output);
                var children = Descendants(check.Id);
                // SIGTERM takes Ctrl+C's path (a test host may have inherited SIGINT as ignored).
                var exitCode = await check.SignalAsync(TimeSpan.FromSeconds(60), "TERM");
                Assert.True(exitCode == 130, $"exit code {exitCode}\n{check.Output}");
                Assert.Single(check.Output.Split('\n'), l => l.StartsWith("netlabs:", StringComparison.Ordinal));
                Assert.Contains("netlabs: interrupted", check.Output);
                Assert.True(await Poll.UntilAsync(() => children.All(p => !File.Exists($"/proc/{p}/cmdline") || CommandLine(p).Length == 0), TimeSpan.FromSeconds(10)),
                    $"still running: {string.Join(", ", children.Where(p => File.Exists($"/proc/{p}/cmdline")).Select(CommandLine))}");
                return 0;
            });
        }
        finally
        {
            submissions.Delete(recursive: true);
        }
    }

    /// <summary>Every process below <paramref name="parent"/> (from /proc/*/stat).</summary>
    private static List<int> Descendants(int parent)
    {
        var parents = new Dictionary<int, int>();
        foreach (var folder in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(folder), out var pid)) continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(folder, "stat"));
                parents[pid] = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]);
            }
            catch (IOException) { }
        }
        var found = new List<int>();
        var frontier = new Queue<int>([parent]);
        while (frontier.TryDequeue(out var next))
            foreach (var child in parents.Where(p => p.Value == next).Select(p => p.Key))
            {
                found.Add(child);
                frontier.Enqueue(child);
            }
        return found;
    }

    private static string CommandLine(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' '); }
        catch (IOException) { return ""; }
    }

    /// <summary>The table's rows by notebook name (the line after "notebook  lab  passed …" onwards).</summary>
    internal static Dictionary<string, string> Rows(string output)
    {
        var lines = output.Split('\n').Select(l => l.TrimEnd()).ToList();
        var header = lines.FindIndex(l => l.StartsWith("notebook ", StringComparison.Ordinal));
        Assert.True(header >= 0, output);
        Assert.Matches(@"^notebook\s+lab\s+passed\s+failed\s+errors\s+time$", lines[header]);
        return lines.Skip(header + 1).TakeWhile(l => l.Length > 0).ToDictionary(l => l.Split(' ')[0]);
    }

    /// <summary>What the cells of an executed notebook printed (their stream outputs), not their source.</summary>
    internal static string Printed(string executed) => string.Concat(JsonNode.Parse(File.ReadAllText(executed))!["cells"]!.AsArray()
        .SelectMany(c => c!["outputs"]?.AsArray() ?? []).Where(o => (string?)o!["output_type"] == "stream").Select(o => NotebookHtml.Text(o!["text"])));

    internal static JsonNode HandedOut(string lab) => JsonNode.Parse(File.ReadAllText(Path.Combine(StudentFolder, lab + ".ipynb")))!;

    internal static JsonObject Cell(JsonNode notebook, string start) => Cells(notebook, start).Single();

    internal static List<JsonObject> Cells(JsonNode notebook, string start) =>
        notebook["cells"]!.AsArray().OfType<JsonObject>().Where(c => NotebookHtml.Text(c["source"]).TrimStart().StartsWith(start, StringComparison.Ordinal)).ToList();

    private static JsonObject Code(string source) => new()
    {
        ["cell_type"] = "code", ["execution_count"] = null, ["metadata"] = new JsonObject(), ["outputs"] = new JsonArray(), ["source"] = source,
    };

    private static string Literal(string text) => System.Text.Json.JsonSerializer.Serialize(text);
}
