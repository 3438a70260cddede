using NetLabs.Cli.Notebooks;
using NetLabs.Tests.Notebooks;
using NetLabs.Tests.Support;
using System.Text.RegularExpressions;
using static NetLabs.Tests.Student.StudentNotebookTests;

namespace NetLabs.Tests.Student;

/// <summary>
/// A busy loop in a graded submission: in the student's own kernel it would run until the kernel is restarted, but
/// <c>netlabs notebooks check</c> runs the notebook in a process of its own and that process is gone when the grade is
/// out. The reference handler with a <c>while (true) { }</c> where the 404 goes gets 0 for the rows that ask for a
/// missing file, with a message that says no answer came and the handler never returned, and full marks for the others.
/// </summary>
[Collection(RealKernel.Collection)]
public sealed class BusyLoopGradingTests(RealKernel kernel)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(6);

    [Fact]
    public async Task A_busy_loop_submission_gets_0_for_its_row_and_its_kernel_process_is_ended()
    {
        var student = Path.Combine(RepoPaths.Notebooks, "student");
        var submissions = Directory.CreateTempSubdirectory("netlabs-submissions-");
        var output = Directory.CreateTempSubdirectory("netlabs-checked-");
        try
        {
            var solution = File.ReadAllText(Path.Combine(student, "solutions", "01-web-server.handle-connection.csx"));
            const string notFound = "else if (!File.Exists(file)) { status = 404; body = HttpResponseHead.ErrorPage(404); }";
            Assert.Contains(notFound, solution);
            var busy = solution.Replace(notFound, "else if (!File.Exists(file)) { while (true) { } }   // a busy loop where the 404 goes", StringComparison.Ordinal);
            var notebook = HandedOut("01-web-server");
            Cell(notebook, "// ✏️ STUDENT GAP")["source"] =
                $"// ✏️ STUDENT GAP: handle-connection\nConsole.WriteLine($\"kernel process {{Environment.ProcessId}}\");\n{busy}";
            File.WriteAllText(Path.Combine(submissions.FullName, "spinner.ipynb"), notebook.ToJsonString());

            var run = await kernel.Serialized(() => ExternalProcess.RunAsync("dotnet",
                NetlabsTool.Arguments("notebooks", "check", submissions.FullName, "--lab", "01-web-server", "--out", output.FullName), Timeout, workingDirectory: RepoPaths.Root));
            Assert.True(run.ExitCode == 0, run.ToString());
            var executed = File.ReadAllText(Path.Combine(output.FullName, "spinner.ipynb"));
            // Two rows ask for a file that is not there: the 404 row, and the path row's absolute path (joined to the root).
            // The card's rows go with a failure: they say which row, and how long it waited.
            var card = string.Join("\n", Regex.Matches(executed.Replace("\\n", "\n"), @"(PASS|FAIL) [^\n""]*").Select(m => m.Value));
            Assert.True(Regex.IsMatch(Rows(run.StandardOutput)["spinner.ipynb"], @"^spinner\.ipynb\s+01-web-server\s+5\s+2\s+0\s+\d+\.\d s$"), card);
            Assert.Contains("report card 01-web-server: 5 passed, 2 failed", executed);
            Assert.Contains("FAIL 404 for a missing file: no answer within 4 s: your handler wrote nothing and had not returned", executed);
            // The judge's process is idle while the kernel spins: no note about this process's CPU, nor "restart the kernel".
            Assert.DoesNotContain("Your code is still running", executed);
            var pid = int.Parse(Regex.Match(Printed(Path.Combine(output.FullName, "spinner.ipynb")), @"kernel process (\d+)").Groups[1].Value);
            // The kernel that spun is gone (or its number now names another program, not a kernel).
            var cmdline = $"/proc/{pid}/cmdline";
            Assert.True(!File.Exists(cmdline) || !File.ReadAllText(cmdline).Contains("dotnet", StringComparison.Ordinal), $"the kernel process {pid} still runs: {(File.Exists(cmdline) ? File.ReadAllText(cmdline) : "")}");
        }
        finally
        {
            submissions.Delete(recursive: true);
            output.Delete(recursive: true);
        }
    }
}
