using System.Text.Json.Nodes;
using NetLabs.Cli.Notebooks;
using NetLabs.Tests.Support;

namespace NetLabs.Tests.Notebooks;

/// <summary>
/// Every notebook under notebooks/ executed in the real .NET Interactive kernel (dotnet-repl, the kernel build users
/// have), not an in-process CSharpKernel: only the real kernel shows problems such as its FSharp.Core 10.0.
/// </summary>
[Collection(RealKernel.Collection)]
public sealed class NotebookTests(RealKernel kernel)
{
    public static TheoryData<string> LabNotebooks() => new(NotebookFiles.In(RepoPaths.Notebooks).Select(Path.GetFileName)!);

    [Theory]
    [MemberData(nameof(LabNotebooks))]
    public async Task Notebook_runs_without_error_in_the_real_kernel(string notebook)
    {
        var run = await kernel.RunAsync(Path.Combine(RepoPaths.Notebooks, notebook));
        Assert.True(run.Succeeded, run.Describe());
    }

    /// <summary>What a student uploads when they hand in an executed lab: 1.5 MB at most (plotly.js included).</summary>
    private const long MaxExecutedNotebookBytes = 1_500_000;

    [Theory]
    [MemberData(nameof(LabNotebooks))]
    public async Task Executed_notebook_is_light_to_save_and_carries_plotly_js_once_at_most(string notebook)
    {
        var run = await kernel.RunAsync(Path.Combine(RepoPaths.Notebooks, notebook));
        Assert.True(run.Succeeded, run.Describe());
        var bytes = new FileInfo(run.ExecutedNotebook!).Length;
        Assert.True(bytes <= MaxExecutedNotebookBytes, $"{notebook} executed is {bytes:N0} bytes, more than {MaxExecutedNotebookBytes:N0}");
        var text = await File.ReadAllTextAsync(run.ExecutedNotebook!);
        var copies = CountOf(text, PlotlyJsHeader);
        var charts = CountOf(text, "Plotly.newPlot");
        Assert.Equal(charts > 0 ? 1 : 0, copies);
    }

    [Fact]
    public async Task A_notebook_without_charts_carries_no_plotly_js()
    {
        var run = await kernel.RunAsync(Path.Combine(RepoPaths.Notebooks, "03-smtp.ipynb"));
        Assert.True(run.Succeeded, run.Describe());
        var text = await File.ReadAllTextAsync(run.ExecutedNotebook!);
        Assert.DoesNotContain(PlotlyJsHeader, text);
        Assert.DoesNotContain("Plotly.newPlot", text);
        Assert.True(new FileInfo(run.ExecutedNotebook!).Length < 200_000);
    }

    private const string PlotlyJsHeader = "* plotly.js (cartesian - minified)";

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal)) count++;
        return count;
    }

    [Fact]
    public async Task A_deliberately_broken_cell_fails_the_run_and_is_named()
    {
        var source = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(RepoPaths.Notebooks, "00-getting-started.ipynb")))!;
        var cells = source["cells"]!.AsArray();
        var lastCode = cells.Select((c, i) => (c, i)).Last(x => (string?)x.c!["cell_type"] == "code").i;
        cells[lastCode]!["source"] = new JsonArray("throw new InvalidOperationException(\"deliberately broken\");");
        // Hidden name in the same folder, so its relative #r paths resolve; never picked up as a lab notebook.
        var broken = Path.Combine(RepoPaths.Notebooks, $".broken-{Guid.NewGuid():N}.ipynb");
        await File.WriteAllTextAsync(broken, source.ToJsonString());
        try
        {
            var run = await kernel.RunAsync(broken);
            Assert.False(run.Succeeded);
            var error = Assert.Single(run.Errors);
            Assert.Equal(lastCode + 1, error.CellNumber);
            Assert.Contains("deliberately broken", error.Message);
            Assert.Contains($"cell {lastCode + 1} (`throw new InvalidOperationException", run.Describe());
        }
        finally
        {
            File.Delete(broken);
        }
    }

    [SkippableTheory]
    [InlineData("00-getting-started.ipynb")]
    [InlineData("01-web-server.ipynb")]
    [InlineData("02-udp-pinger.ipynb")]
    public async Task Executed_notebook_draws_every_chart_offline_in_chromium(string notebook)
    {
        var chromium = ExternalProcess.Require("chromium", "chromium");
        var run = await kernel.RunAsync(Path.Combine(RepoPaths.Notebooks, notebook));
        Assert.True(run.Succeeded, run.Describe());
        var html = await File.ReadAllTextAsync(run.ExecutedHtml!);
        Assert.DoesNotMatch("<script[^>]*\\ssrc=", html);   // nothing is fetched: plotly.js is inline, once
        Assert.DoesNotContain("requirejs.config", html);
        var charts = CountOf(html, "Plotly.newPlot");
        Assert.True(charts > 0, $"{notebook} draws no chart");

        var dom = await DumpDomOfflineAsync(chromium, run.ExecutedHtml!);
        Assert.DoesNotContain("netlabs-chart-pending", dom);                        // no chart is left waiting for plotly.js
        Assert.True(CountOf(dom, "class=\"main-svg\"") >= charts, "every chart div holds plotly's SVG");
        Assert.Contains("class=\"point\"", dom);                                   // with bars or markers in it
    }

    [SkippableFact]
    public async Task Executed_smtp_notebook_draws_its_sequence_diagram_offline_in_chromium()
    {
        var chromium = ExternalProcess.Require("chromium", "chromium");
        var run = await kernel.RunAsync(Path.Combine(RepoPaths.Notebooks, "03-smtp.ipynb"));
        Assert.True(run.Succeeded, run.Describe());
        var html = await File.ReadAllTextAsync(run.ExecutedHtml!);
        Assert.DoesNotContain("mermaid", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("#58;", html);

        var dom = await DumpDomOfflineAsync(chromium, run.ExecutedHtml!);
        var diagram = System.Text.RegularExpressions.Regex.Match(dom, "<svg[^>]*class=\"netlabs-sequence\".*?</svg>", System.Text.RegularExpressions.RegexOptions.Singleline);
        Assert.True(diagram.Success, "the page has no sequence diagram");
        var svg = System.Xml.Linq.XElement.Parse(diagram.Value);   // the browser kept it as well-formed SVG
        System.Xml.Linq.XNamespace ns = "http://www.w3.org/2000/svg";
        var arrows = svg.Descendants(ns + "line").Where(l => (string?)l.Attribute("class") == "arrow").ToList();
        Assert.True(arrows.Count >= 8, $"{arrows.Count} arrows");   // EHLO, MAIL, RCPT, DATA, the message, QUIT and their replies
        var labels = svg.Descendants(ns + "text").Select(t => t.Value).ToList();
        Assert.Contains(labels, l => l.StartsWith("EHLO", StringComparison.Ordinal));
        Assert.Contains(labels, l => l.StartsWith("MAIL FROM:<alice@netlabs.test>", StringComparison.Ordinal));
        Assert.Contains(labels, l => l.StartsWith("221", StringComparison.Ordinal));

        // AUTH as it travels: base64 of "\0student\0password", and the page says it is this run's password.
        var auth = System.Text.RegularExpressions.Regex.Match(html, "AUTH PLAIN ([A-Za-z0-9+/]{8,}={0,2})<");
        Assert.True(auth.Success, "the page shows no AUTH PLAIN line with its base64");
        var plain = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(auth.Groups[1].Value));
        Assert.Matches("^\0student\0[0-9A-F]{16}$", plain);
        Assert.Contains("yes: only TLS kept it from whoever is on the path", html);
    }

    /// <summary>The page as headless Chromium has it after its scripts ran, with no name resolving (nothing from the internet).</summary>
    private static async Task<string> DumpDomOfflineAsync(string chromium, string page)
    {
        var profile = Directory.CreateTempSubdirectory("netlabs-chromium-");
        try
        {
            var dom = await ExternalProcess.RunAsync(chromium,
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", $"--user-data-dir={profile.FullName}", "--host-resolver-rules=MAP * ~NOTFOUND",
                "--virtual-time-budget=10000", "--dump-dom", new Uri(page).AbsoluteUri,
            ], TimeSpan.FromSeconds(90));
            Assert.False(dom.TimedOut, dom.ToString());
            return dom.StandardOutput;
        }
        finally
        {
            profile.Delete(recursive: true);
        }
    }

    [SkippableFact]
    public async Task Getting_started_runs_under_Jupyter_with_the_dotnet_kernel()
    {
        var nbconvert = ExternalProcess.Require("jupyter-nbconvert", "jupyter-nbconvert python3-nbclient python3-ipykernel");
        var jupyter = Directory.CreateTempSubdirectory("netlabs-jupyter-");
        try
        {
            // The kernelspec the README installs (`netlabs jupyter install`: HTTP API on loopback only), into a private JUPYTER_PATH.
            var kernels = Path.Combine(jupyter.FullName, "kernels");
            var install = await NetlabsTool.RunAsync(TimeSpan.FromMinutes(1), "jupyter", "install", "--path", kernels);
            Assert.True(File.Exists(Path.Combine(kernels, ".net-csharp", "kernel.json")), install.ToString());

            var output = Path.Combine(jupyter.FullName, "out");
            // Jupyter starts the kernel in the notebook's folder, so the notebook's relative #r path is exercised as users have it.
            var run = await kernel.Serialized(() => ExternalProcess.RunAsync(nbconvert,
                ["--to", "notebook", "--execute", "--ExecutePreprocessor.kernel_name=.net-csharp", "--ExecutePreprocessor.timeout=180",
                 "--output-dir", output, "00-getting-started.ipynb"],
                TimeSpan.FromMinutes(4), workingDirectory: RepoPaths.Notebooks,
                environment: new Dictionary<string, string> { ["JUPYTER_PATH"] = jupyter.FullName }));
            Assert.True(run.ExitCode == 0, run.ToString());
            var executed = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(output, "00-getting-started.ipynb")))!;
            Assert.Empty(NotebookRunner.ErrorsIn(executed));
            var outputs = executed["cells"]!.AsArray().SelectMany(c => c!["outputs"]?.AsArray() ?? []).Select(o => o!.ToJsonString()).ToList();
            Assert.Contains(outputs, o => o.Contains("Plotly.newPlot"));
        }
        finally
        {
            jupyter.Delete(recursive: true);
        }
    }

    [Fact]
    public void Notebooks_in_git_are_clean_of_outputs()
    {
        var all = Directory.GetFiles(RepoPaths.Notebooks, "*.ipynb", SearchOption.AllDirectories).Where(p => !Path.GetFileName(p).StartsWith('.')).ToList();
        Assert.NotEmpty(all);
        foreach (var path in all)
        {
            var notebook = JsonNode.Parse(File.ReadAllText(path))!;
            var withOutputs = notebook["cells"]!.AsArray().Count(c => c!["outputs"] is JsonArray { Count: > 0 });
            Assert.True(withOutputs == 0, $"{Path.GetRelativePath(RepoPaths.Root, path)} has {withOutputs} cell(s) with outputs: commit notebooks clean.");
        }
    }
}
