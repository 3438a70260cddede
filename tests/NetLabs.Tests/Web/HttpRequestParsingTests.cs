using System.Text;
using NetLabs.Web;

namespace NetLabs.Tests.Web;

public class HttpRequestParsingTests
{
    private static HttpRequest? Parse(string head, out HttpError error, HttpLimits? limits = null) =>
        HttpRequest.Parse(Encoding.Latin1.GetBytes(head), limits ?? HttpLimits.Default, out error);

    [Fact]
    public void Parses_a_browser_request()
    {
        var request = Parse("GET /HelloWorld.html?x=1 HTTP/1.1\r\nHost: localhost:6789\r\nUser-Agent: Test\r\nAccept:  text/html \r\n\r\n", out _);
        Assert.NotNull(request);
        Assert.Equal("GET", request.Method);
        Assert.Equal("/HelloWorld.html?x=1", request.Target);
        Assert.Equal("HTTP/1.1", request.Version);
        Assert.Equal("text/html", request.Header("accept"));
        Assert.Equal(3, request.Headers.Count);
        Assert.True(request.WantsKeepAlive);
        Assert.Equal(0, request.ContentLength);
    }

    [Fact]
    public void Accepts_bare_line_feeds_as_netcat_sends_them()
    {
        var request = Parse("HEAD / HTTP/1.0\n\n", out _);
        Assert.NotNull(request);
        Assert.Equal("HEAD", request.Method);
        Assert.False(request.WantsKeepAlive);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n\r\n", true)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, CLOSE\r\n\r\n", false)]
    [InlineData("GET / HTTP/1.0\r\n\r\n", false)]
    [InlineData("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true)]
    public void Keep_alive_follows_version_and_connection_header(string head, bool keepAlive) =>
        Assert.Equal(keepAlive, Parse(head, out _)!.WantsKeepAlive);

    [Theory]
    [InlineData("GET /\r\n\r\n", 400)]                                          // HTTP/0.9 style
    [InlineData("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400)]                      // two spaces
    [InlineData("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400)]
    [InlineData("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400)]                       // not a token
    [InlineData("GET / HTTQ/1.1\r\nHost: a\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400)]
    [InlineData("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505)]
    [InlineData("GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505)]
    [InlineData("GET / HTTP/3.0\r\n\r\n", 505)]
    [InlineData("GET / HTTP/1.1\r\n\r\n", 400)]                                  // HTTP/1.1 needs Host
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400)]            // obsolete line folding
    [InlineData("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400)]                      // space before colon
    [InlineData("GET / HTTP/1.1\r\nHost a\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400)]                    // bare CR inside a value
    [InlineData("GET / HTTP/1.1\r\nHost: a\0\r\n\r\n", 400)]
    [InlineData("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400)]
    [InlineData("GET /\u00e9 HTTP/1.1\r\nHost: a\r\n\r\n", 400)]                  // raw non-ASCII in target
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 501)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 10000000\r\n\r\n", 413)]
    public void Refuses_bad_heads_with_the_right_status(string head, int status)
    {
        Assert.Null(Parse(head, out var error));
        Assert.Equal(status, error.Status);
        Assert.False(string.IsNullOrEmpty(error.Reason));
    }

    [Fact]
    public void Equal_repeated_content_lengths_are_one()
    {
        var request = Parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", out _);
        Assert.Equal(5, request!.ContentLength);
    }

    [Fact]
    public void Limits_give_414_and_431()
    {
        var limits = new HttpLimits { MaxRequestLineBytes = 100, MaxHeaderCount = 3, MaxHeaderBytes = 1000 };
        Parse($"GET /{new string('a', 200)} HTTP/1.1\r\nHost: a\r\n\r\n", out var error, limits);
        Assert.Equal(414, error.Status);
        Parse("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", out error, limits);
        Assert.Equal(431, error.Status);
        Parse($"GET / HTTP/1.1\r\nHost: a\r\nA: {new string('x', 1000)}\r\n\r\n", out error, limits);
        Assert.Equal(431, error.Status);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\n\r\n", 18)]
    [InlineData("GET / HTTP/1.1\n\n", 16)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\n\r\nextra", 26)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n", -1)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n\r", -1)]
    [InlineData("", -1)]
    public void Finds_where_the_head_ends(string received, int end) =>
        Assert.Equal(end, HttpRequest.FindHeadEnd(Encoding.ASCII.GetBytes(received)));

    [Fact]
    public void Header_values_keep_their_latin1_bytes()
    {
        var request = Parse("GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\u00e9\r\n\r\n", out _);
        Assert.Equal("caf\u00e9", request!.Header("x-name"));
    }

    [Theory]
    [InlineData("Sun, 06 Nov 1994 08:49:37 GMT")]
    [InlineData("Sunday, 06-Nov-94 08:49:37 GMT")]
    [InlineData("Sun Nov  6 08:49:37 1994")]
    public void Parses_the_three_http_date_forms(string text) =>
        Assert.Equal(new DateTimeOffset(1994, 11, 6, 8, 49, 37, TimeSpan.Zero), HttpResponseHead.ParseDate(text));

    [Fact]
    public void Formats_http_dates_and_rejects_nonsense()
    {
        Assert.Equal("Sun, 06 Nov 1994 08:49:37 GMT", HttpResponseHead.FormatDate(new DateTimeOffset(1994, 11, 6, 9, 49, 37, TimeSpan.FromHours(1))));
        Assert.Null(HttpResponseHead.ParseDate("yesterday"));
        Assert.Null(HttpResponseHead.ParseDate(null));
    }

    [Theory]
    [InlineData("a.html", "text/html; charset=utf-8")]
    [InlineData("A.PNG", "image/png")]
    [InlineData("photo.jpeg", "image/jpeg")]
    [InlineData("x.jpg", "image/jpeg")]
    [InlineData("x.gif", "image/gif")]
    [InlineData("x.svg", "image/svg+xml")]
    [InlineData("favicon.ico", "image/x-icon")]
    [InlineData("x.css", "text/css; charset=utf-8")]
    [InlineData("x.js", "text/javascript; charset=utf-8")]
    [InlineData("x.json", "application/json")]
    [InlineData("x.txt", "text/plain; charset=utf-8")]
    [InlineData("x.pdf", "application/pdf")]
    [InlineData("x.unknown", "application/octet-stream")]
    [InlineData("Makefile", "application/octet-stream")]
    public void Content_type_comes_from_the_extension(string file, string type) => Assert.Equal(type, MimeTypes.For(file));
}
