using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Markdig;

namespace NetLabs.Cli.Notebooks;

/// <summary>
/// Renders an executed notebook as one self-contained HTML page (markdown, code, outputs), so the labs can be read in
/// any browser without VS Code or Jupyter. HTML outputs go in as they are: the plotly.js that the notebook's first chart
/// carries is part of them, so the charts draw offline.
/// </summary>
public static class NotebookHtml
{
    private static readonly MarkdownPipeline Markdown = new MarkdownPipelineBuilder().UseAdvancedExtensions().Build();

    public static string Render(JsonNode notebook, string title)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>").Append(WebUtility.HtmlEncode(title)).Append("</title><style>")
            .Append("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.45}")
            .Append("pre.code{background:#f5f5f7;border-left:3px solid #6a7fdb;padding:.6em;overflow-x:auto}")
            .Append("pre.stream{background:#fafafa;padding:.4em;overflow-x:auto}pre.error{background:#fdecea;color:#a00;padding:.4em}")
            .Append(".output{margin:.3em 0 1.2em 0}table{border-collapse:collapse}td,th{padding:2px 8px}")
            .Append("</style></head><body>");
        foreach (var cell in notebook["cells"]!.AsArray())
        {
            var source = Text(cell!["source"]);
            if ((string?)cell["cell_type"] == "markdown")
            {
                html.Append(Markdig.Markdown.ToHtml(source, Markdown));
                continue;
            }
            html.Append("<pre class=\"code\">").Append(WebUtility.HtmlEncode(source)).Append("</pre>");
            foreach (var output in cell["outputs"]?.AsArray() ?? [])
                html.Append("<div class=\"output\">").Append(RenderOutput(output!)).Append("</div>");
        }
        return html.Append("</body></html>").ToString();
    }

    private static string RenderOutput(JsonNode output)
    {
        switch ((string?)output["output_type"])
        {
            case "stream":
                return $"<pre class=\"stream\">{WebUtility.HtmlEncode(Text(output["text"]))}</pre>";
            case "error":
                return $"<pre class=\"error\">{WebUtility.HtmlEncode($"{output["ename"]}: {output["evalue"]}")}</pre>";
        }
        var data = output["data"]?.AsObject();
        if (data is null) return "";
        if (data["text/html"] is { } markup) return Text(markup);
        foreach (var image in new[] { "image/png", "image/jpeg", "image/gif" })
            if (data[image] is { } bytes) return $"<img src=\"data:{image};base64,{Text(bytes).Trim()}\">";
        if (data["image/svg+xml"] is { } svg) return Text(svg);
        if (data["text/markdown"] is { } md) return Markdig.Markdown.ToHtml(Text(md), Markdown);
        return data["text/plain"] is { } plain ? $"<pre class=\"stream\">{WebUtility.HtmlEncode(Text(plain))}</pre>" : "";
    }

    /// <summary>Notebook text fields are a string or an array of lines.</summary>
    public static string Text(JsonNode? node) => node switch
    {
        null => "",
        JsonArray lines => string.Concat(lines.Select(l => (string?)l)),
        _ => (string?)node ?? "",
    };
}
