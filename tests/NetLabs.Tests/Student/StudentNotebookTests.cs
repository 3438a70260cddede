using System.Text.Json.Nodes;
using NetLabs.Cli.Notebooks;
using NetLabs.Tests.Notebooks;
using NetLabs.Tests.Support;

namespace NetLabs.Tests.Student;

/// <summary>
/// The student notebooks in the real .NET Interactive kernel: with the reference solutions injected, every check
/// passes and no cell errors; as handed out (gaps empty), the report card shows only failures, still with no cell
/// error. And <c>netlabs notebooks check</c> over a folder of submissions prints the table.
/// </summary>
[Collection(RealKernel.Collection)]
public sealed class StudentNotebookTests(RealKernel kernel)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(4);
    private static string StudentFolder => Path.Combine(RepoPaths.Notebooks, "student");
    private static string Solutions => Path.Combine(StudentFolder, "solutions");

    public static TheoryData<string, bool> Runs()
    {
        var runs = new TheoryData<string, bool>();
        foreach (var notebook in NotebookFiles.In(Path.Combine(RepoPaths.Notebooks, "student")).Select(Path.GetFileName))
        {
            runs.Add(notebook!, true);
            runs.Add(notebook!, false);
        }
        return runs;
    }

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

    [Theory]
    [MemberData(nameof(Runs))]
    public async Task Student_notebook_gives_a_report_card_and_never_an_error_cell(string notebook, bool solved)
    {
        var output = Path.Combine(kernel.OutputDirectory, solved ? "student-solved" : "student-as-handed-out");
        var check = await kernel.Serialized(() => StudentNotebooks.CheckAsync(new NotebookRunner(Timeout), Path.Combine(StudentFolder, notebook),
            StudentFolder, solved ? Solutions : null, output, CancellationToken.None));
        var described = $"{check} (executed copy in {output})";
        Assert.False(check.CouldNotRun, described);
        Assert.Equal(0, check.Errors);
        Assert.Equal(Path.GetFileNameWithoutExtension(notebook), check.Lab);
        if (solved)
        {
            Assert.True(check.Passed >= 4 && check.Failed == 0, described);
        }
        else
        {
            Assert.True(check.Passed == 0 && check.Failed >= 4, described);
        }
        Assert.Empty(Directory.GetFiles(StudentFolder, ".check-*"));   // the scratch copy is gone
    }

    [Fact]
    public async Task Check_command_prints_one_row_per_submission()
    {
        // A class of two: Alice filled the gap (with the reference solution), Bob handed it in untouched.
        var submissions = Directory.CreateTempSubdirectory("netlabs-submissions-");
        var output = Directory.CreateTempSubdirectory("netlabs-checked-");
        try
        {
            var handedOut = Path.Combine(StudentFolder, "03-smtp.ipynb");
            var alice = JsonNode.Parse(File.ReadAllText(handedOut))!;
            StudentNotebooks.InjectSolutions(alice, Solutions);
            File.WriteAllText(Path.Combine(submissions.FullName, "alice-03-smtp.ipynb"), alice.ToJsonString());
            File.Copy(handedOut, Path.Combine(submissions.FullName, "bob-03-smtp.ipynb"));

            var run = await kernel.Serialized(() => ExternalProcess.RunAsync("dotnet",
                NetlabsTool.Arguments("notebooks", "check", submissions.FullName, "--out", output.FullName), Timeout, workingDirectory: RepoPaths.Root));
            Assert.True(run.ExitCode == 0, run.ToString());
            var lines = run.StandardOutput.Split('\n').Select(l => l.TrimEnd()).ToList();
            var header = lines.FindIndex(l => l.StartsWith("notebook", StringComparison.Ordinal));
            Assert.True(header >= 0, run.ToString());
            Assert.Matches(@"^notebook\s+lab\s+passed\s+failed\s+errors\s+time$", lines[header]);
            Assert.Matches(@"^alice-03-smtp\.ipynb\s+03-smtp\s+5\s+0\s+0\s+\d+\.\d s$", lines[header + 1]);
            Assert.Matches(@"^bob-03-smtp\.ipynb\s+03-smtp\s+0\s+5\s+0\s+\d+\.\d s$", lines[header + 2]);
            Assert.True(File.Exists(Path.Combine(output.FullName, "alice-03-smtp.html")));
            Assert.Empty(Directory.GetFiles(StudentFolder, ".check-*"));
        }
        finally
        {
            submissions.Delete(recursive: true);
            output.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Check_command_fails_only_when_a_notebook_cannot_be_run()
    {
        var submissions = Directory.CreateTempSubdirectory("netlabs-submissions-");
        try
        {
            File.WriteAllText(Path.Combine(submissions.FullName, "broken.ipynb"), "{ this is no notebook");
            var run = await ExternalProcess.RunAsync("dotnet", NetlabsTool.Arguments("notebooks", "check", submissions.FullName, "--out", Path.Combine(submissions.FullName, "out")),
                TimeSpan.FromMinutes(2), workingDirectory: RepoPaths.Root);
            Assert.Equal(1, run.ExitCode);
            Assert.Contains("broken.ipynb", run.StandardOutput);
            Assert.Contains("not a notebook that can be read", run.StandardOutput);
        }
        finally
        {
            submissions.Delete(recursive: true);
        }
    }
}
