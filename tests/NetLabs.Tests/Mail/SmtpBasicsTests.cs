using System.Text;
using NetLabs.Mail;

namespace NetLabs.Tests.Mail;

public class SmtpBasicsTests
{
    [Fact]
    public void Dot_stuffing_doubles_leading_dots_normalises_line_ends_and_terminates()
    {
        var encoded = Encoding.ASCII.GetString(SmtpData.Encode(".hidden\n.\r\nplain\rend"u8));
        Assert.Equal("..hidden\r\n..\r\nplain\r\nend\r\n.\r\n", encoded);
    }

    [Fact]
    public void Unstuffing_undoes_stuffing_and_recognises_the_terminator()
    {
        Assert.Equal(".x", Encoding.ASCII.GetString(SmtpData.Unstuff("..x"u8.ToArray())!.Value.Span));
        Assert.Equal("x", Encoding.ASCII.GetString(SmtpData.Unstuff("x"u8.ToArray())!.Value.Span));
        Assert.Null(SmtpData.Unstuff("."u8.ToArray()));
    }

    [Fact]
    public async Task Line_reader_ends_lines_only_at_CRLF_and_skips_overlong_lines()
    {
        var bytes = Encoding.ASCII.GetBytes("one\r\nbare\nLF\r\n" + new string('x', 5000) + "\r\nlast\r\npartial");
        var reader = new SmtpLineReader(new MemoryStream(bytes), bufferSize: 64);
        var ct = MailTestKit.Deadline();
        Assert.Equal(SmtpLineStatus.Line, await reader.ReadLineAsync(100, ct));
        Assert.Equal("one", Encoding.ASCII.GetString(reader.Line.Span));
        Assert.Equal(SmtpLineStatus.Line, await reader.ReadLineAsync(100, ct));
        Assert.Equal("bare\nLF", Encoding.ASCII.GetString(reader.Line.Span));
        Assert.Equal(SmtpLineStatus.TooLong, await reader.ReadLineAsync(100, ct));
        Assert.Equal(SmtpLineStatus.Line, await reader.ReadLineAsync(100, ct));
        Assert.Equal("last", Encoding.ASCII.GetString(reader.Line.Span));
        Assert.Equal(SmtpLineStatus.EndOfStream, await reader.ReadLineAsync(100, ct));
    }

    [Fact]
    public void Capabilities_are_parsed_from_the_EHLO_reply()
    {
        var reply = new SmtpReply(250, ["mx.example Hello", "SIZE 1000", "8BITMIME", "AUTH PLAIN LOGIN", "AUTH=LOGIN"]);
        var capabilities = SmtpRawClient.ParseCapabilities(reply);
        Assert.Equal("1000", capabilities["SIZE"]);
        Assert.Equal("", capabilities["8bitmime"]);
        Assert.Contains("PLAIN", capabilities["AUTH"]);
        Assert.Equal("250-mx.example Hello\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-AUTH PLAIN LOGIN\r\n250 AUTH=LOGIN\r\n", reply.ToWire());
    }

    [Fact]
    public void Sequence_diagram_has_an_arrow_per_line_and_escapes_markup()
    {
        var transcript = new SmtpTranscript();
        transcript.Client("MAIL FROM:<a@b>");
        transcript.Server(new SmtpReply(250, "OK; fine #1"));
        transcript.Note("TLS started");
        var diagram = transcript.ToSequenceDiagram("Our client", "Local server");
        Assert.Equal(["Our client -> Local server: MAIL FROM:<a@b>", "Local server --> Our client: 250 OK; fine #1", "  [TLS started]"],
            diagram.Steps.Select(s => s.ToString()));
        var svg = diagram.ToSvg();
        Assert.Contains("MAIL FROM:&lt;a@b&gt;", svg);
        Assert.DoesNotContain("<a@b>", svg);
    }

    [Fact]
    public void MailKit_protocol_log_becomes_a_transcript()
    {
        var transcript = SmtpTranscript.FromProtocolLog("Connected to smtp://x:25/\r\nS: 220 hi\r\nC: EHLO me\r\nS: 250 ok\r\n");
        Assert.Equal([SmtpParty.Note, SmtpParty.Server, SmtpParty.Client, SmtpParty.Server], transcript.Entries.Select(e => e.Party));
        Assert.Contains("C: EHLO me", SmtpTranscript.SideBySide(transcript, transcript).ToString());
    }
}
