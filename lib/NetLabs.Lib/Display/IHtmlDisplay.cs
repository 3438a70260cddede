namespace NetLabs.Display;

/// <summary>
/// Anything the notebooks show as rich HTML (charts, transcripts, tables). <see cref="Notebook.Initialize"/>
/// registers one formatter for all of them, so such an object can simply be the last expression of a cell.
/// </summary>
public interface IHtmlDisplay
{
    string ToHtml();
}

/// <summary>A ready piece of HTML to display.</summary>
public sealed record Html(string Markup) : IHtmlDisplay
{
    public string ToHtml() => Markup;
    public override string ToString() => Markup;
}
