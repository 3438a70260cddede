using System.Xml.Linq;
using NetLabs.Display;

namespace NetLabs.Tests.Display;

public sealed class SequenceDiagramTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    private static SequenceDiagram Handshake() => new("TCP handshake", ["client", "server"],
    [
        SequenceStep.Message("client", "server", "SYN"),
        SequenceStep.Reply("server", "client", "SYN, ACK"),
        SequenceStep.Message("client", "server", "ACK"),
        SequenceStep.Note("connection established"),
        SequenceStep.Message("server", "server", "accept()"),
    ]);

    [Fact]
    public void Svg_is_well_formed_with_a_lifeline_per_participant_and_an_arrow_per_message()
    {
        var svg = XElement.Parse(Handshake().ToSvg());
        Assert.Equal(Svg + "svg", svg.Name);
        Assert.Equal(2, svg.Descendants(Svg + "line").Count(l => (string?)l.Attribute("class") == "lifeline"));
        Assert.Equal(4, svg.Descendants(Svg + "polygon").Count(p => (string?)p.Attribute("class") == "head"));
        Assert.Single(svg.Descendants(Svg + "rect"), r => (string?)r.Attribute("class") == "note");
        var texts = svg.Descendants(Svg + "text").Select(t => t.Value).ToList();
        Assert.Equal(["client", "server", "SYN", "SYN, ACK", "ACK", "connection established", "accept()"], texts);
    }

    [Fact]
    public void Time_goes_down_and_arrows_point_from_sender_to_receiver()
    {
        var arrows = XElement.Parse(Handshake().ToSvg()).Descendants(Svg + "line").Where(l => (string?)l.Attribute("class") == "arrow")
            .Select(l => (X1: (double)l.Attribute("x1")!, X2: (double)l.Attribute("x2")!, Y: (double)l.Attribute("y1")!, Dashed: l.Attribute("stroke-dasharray") is not null))
            .ToList();
        Assert.Equal(3, arrows.Count);
        Assert.True(arrows[0].X2 > arrows[0].X1 && !arrows[0].Dashed, "SYN goes right, solid");
        Assert.True(arrows[1].X2 < arrows[1].X1 && arrows[1].Dashed, "the reply comes back left, dashed");
        Assert.True(arrows[0].Y < arrows[1].Y && arrows[1].Y < arrows[2].Y, "later steps are lower");
    }

    [Fact]
    public void Labels_are_escaped_and_long_ones_shortened()
    {
        var diagram = new SequenceDiagram("x", ["a", "b"], [SequenceStep.Message("a", "b", "<script>&" + new string('x', 200))]);
        var svg = diagram.ToSvg();
        Assert.DoesNotContain("<script>", svg);
        var label = XElement.Parse(svg).Descendants(Svg + "text").Last().Value;
        Assert.StartsWith("<script>&", label);
        Assert.Equal(SequenceDiagram.MaxLabelLength, label.Length);
        Assert.EndsWith("…", label);
    }

    [Fact]
    public void Unknown_participants_are_refused_with_their_name()
    {
        var error = Assert.Throws<ArgumentException>(() => new SequenceDiagram("x", ["a", "b"], [SequenceStep.Message("a", "c", "hi")]));
        Assert.Contains("'c'", error.Message);
        Assert.Throws<ArgumentException>(() => new SequenceDiagram("x", [], []));
    }

    [Fact]
    public void Text_form_reads_like_the_textbook_notation()
    {
        Assert.Equal("TCP handshake\nclient -> server: SYN\nserver --> client: SYN, ACK", string.Join("\n", Handshake().ToString().Split(Environment.NewLine).Take(3)));
    }
}
