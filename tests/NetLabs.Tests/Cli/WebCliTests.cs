using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using NetLabs.Tests.Support;
using NetLabs.Web;

namespace NetLabs.Tests.Cli;

/// <summary>`netlabs web get` and `netlabs web serve` as a user meets them: one line for every failure, any size saved.</summary>
public sealed class WebCliTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    /// <summary>A server that reads the request head, answers with exactly <paramref name="response"/>, and closes.</summary>
    private static (int Port, Task Served) ScriptedServer(string response)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var served = Task.Run(async () =>
        {
            try
            {
                using var client = await listener.AcceptTcpClientAsync().WaitAsync(Wait);
                var stream = client.GetStream();
                var received = new MemoryStream();
                var buffer = new byte[4096];
                while (HttpRequest.FindHeadEnd(received.ToArray()) < 0)
                {
                    var n = await stream.ReadAsync(buffer).AsTask().WaitAsync(Wait);
                    if (n == 0) break;
                    received.Write(buffer, 0, n);
                }
                await stream.WriteAsync(Encoding.Latin1.GetBytes(response));
            }
            finally
            {
                listener.Stop();
            }
        });
        return (((IPEndPoint)listener.LocalEndpoint).Port, served);
    }

    [Theory]
    [InlineData("", "closed the connection without answering")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "after 5 of 10 body bytes")]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "Bad chunk size 'zz'")]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "in the middle of a chunk")]
    public async Task Get_reports_a_broken_answer_in_one_line(string response, string expected)
    {
        var (port, served) = ScriptedServer(response);
        var get = await NetlabsTool.RunAsync(Wait, "web", "get", "127.0.0.1", port.ToString(), "HelloWorld.html");
        await served;
        Assert.Equal(1, get.ExitCode);
        var error = get.StandardError.Trim();
        Assert.Single(error.Split('\n'));
        Assert.StartsWith("netlabs: ", error);
        Assert.Contains(expected, error);
        Assert.DoesNotContain("   at ", get.StandardOutput + get.StandardError);
    }

    [Fact]
    public async Task Get_output_streams_a_file_larger_than_64_MB_to_disk()
    {
        var root = Directory.CreateTempSubdirectory("netlabs-webcli-");
        try
        {
            // A sparse file (cheap to make) with marks at both ends, beyond the 64 MB a body in memory may have.
            var big = Path.Combine(root.FullName, "big.bin");
            const long size = 64L * 1024 * 1024 + 12_345;
            await using (var file = new FileStream(big, FileMode.CreateNew))
            {
                file.SetLength(size);
                file.Write("start"u8);
                file.Seek(-3, SeekOrigin.End);
                file.Write("end"u8);
            }
            await using var server = WebServer.Start(new WebServerOptions { Root = root.FullName });
            var saved = Path.Combine(root.FullName, "copy.bin");
            var get = await NetlabsTool.RunAsync(Wait, "web", "get", "127.0.0.1", server.Port.ToString(), "big.bin", "-o", saved);
            Assert.True(get.ExitCode == 0, get.ToString());
            Assert.Contains($"saved {size} bytes to {saved}", get.StandardOutput);
            Assert.Equal(size, new FileInfo(saved).Length);
            Assert.Equal(Sha256(big), Sha256(saved));
            Assert.Equal(["big.bin", "copy.bin"], root.GetFiles().Select(f => f.Name).Order()); // no partial file left behind
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Get_output_keeps_the_old_file_when_the_download_fails()
    {
        var folder = Directory.CreateTempSubdirectory("netlabs-webcli-");
        try
        {
            var target = Path.Combine(folder.FullName, "page.html");
            await File.WriteAllTextAsync(target, "the old page");
            var (port, served) = ScriptedServer("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nnot all of it");
            var get = await NetlabsTool.RunAsync(Wait, "web", "get", "127.0.0.1", port.ToString(), "page.html", "-o", target);
            await served;
            Assert.Equal(1, get.ExitCode);
            Assert.Contains("after 13 of 100 body bytes", get.StandardError);
            Assert.Equal("the old page", await File.ReadAllTextAsync(target));
            Assert.Single(folder.GetFiles());
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("port 0 does not exist", "web", "get", "127.0.0.1", "0", "x")]
    [InlineData("port 99999 does not exist", "web", "get", "127.0.0.1", "99999", "x")]
    [InlineData("port -1 does not exist", "web", "get", "127.0.0.1", "--", "-1", "x")]
    [InlineData("--timeout '1e12' is out of range", "web", "get", "127.0.0.1", "80", "x", "--timeout", "1e12")]
    [InlineData("--timeout 'soon' is not a duration", "web", "get", "127.0.0.1", "80", "x", "--timeout", "soon")]
    [InlineData("the folder /no/such/folder does not exist", "web", "get", "127.0.0.1", "80", "x", "-o", "/no/such/folder/x")]
    [InlineData("Cannot parse argument 'abc'", "web", "get", "127.0.0.1", "abc", "x")]
    [InlineData("--mode 'fast' is not a mode", "web", "serve", "--port", "0", "--mode", "fast")]
    [InlineData("Port 70000 does not exist", "web", "serve", "--port", "70000")]
    [InlineData("--bind 'nowhere' is not an IP address", "web", "serve", "--port", "0", "--bind", "nowhere")]
    [InlineData("Cannot parse argument 'abc'", "web", "serve", "--port", "abc")]
    public async Task Every_web_option_is_checked_with_a_one_line_error(string expected, params string[] arguments)
    {
        var run = await NetlabsTool.RunAsync(Wait, arguments);
        Assert.NotEqual(0, run.ExitCode);
        var error = run.StandardError.Trim();
        Assert.True(error.Split('\n').Length == 1, run.ToString());
        Assert.StartsWith("netlabs: ", error);
        Assert.Contains(expected, error);
        Assert.DoesNotContain("Unhandled exception", run.StandardOutput + run.StandardError);
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream));
    }
}
