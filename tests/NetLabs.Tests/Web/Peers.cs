using System.IO.Compression;
using NetLabs.Tests.Support;

namespace NetLabs.Tests.Web;

/// <summary>
/// A real nginx serving a folder on an ephemeral loopback port, for as long as the object lives: temp config,
/// daemon off, pid, logs and temp files in a temp folder; killed on dispose.
/// </summary>
public sealed class NginxServer : IAsyncDisposable
{
    private readonly BackgroundProcess _process;
    private readonly string _folder;

    private NginxServer(BackgroundProcess process, string folder, int port)
    {
        _process = process;
        _folder = folder;
        Port = port;
    }

    public int Port { get; }

    /// <summary>Starts nginx (skipping the test when it is not installed).</summary>
    public static async Task<NginxServer> StartAsync(string root, string extraHttpConfig = "")
    {
        var nginx = ExternalProcess.Require("nginx", "nginx-light");
        for (var attempt = 1; ; attempt++)
        {
            var folder = Directory.CreateTempSubdirectory("netlabs-nginx-").FullName;
            Directory.CreateDirectory(Path.Combine(folder, "logs"));
            var port = PeerPorts.Free();
            var user = Environment.UserName == "root" ? "user root;" : "";
            File.WriteAllText(Path.Combine(folder, "nginx.conf"), $$"""
                worker_processes 1;
                daemon off;
                pid {{folder}}/nginx.pid;
                error_log {{folder}}/logs/error.log warn;
                {{user}}
                events { worker_connections 256; }
                http {
                  include /etc/nginx/mime.types;
                  access_log {{folder}}/logs/access.log;
                  sendfile on;
                  client_body_temp_path {{folder}}/body;
                  proxy_temp_path {{folder}}/proxy;
                  fastcgi_temp_path {{folder}}/fastcgi;
                  uwsgi_temp_path {{folder}}/uwsgi;
                  scgi_temp_path {{folder}}/scgi;
                  {{extraHttpConfig}}
                  server {
                    listen 127.0.0.1:{{port}};
                    root {{root}};
                  }
                }
                """);
            var server = new NginxServer(BackgroundProcess.Start(nginx,
                ["-p", folder, "-c", Path.Combine(folder, "nginx.conf"), "-e", Path.Combine(folder, "logs", "error.log")]), folder, port);
            try
            {
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await PeerPorts.WaitUntilListeningAsync(server._process, port, deadline.Token);
                return server;
            }
            catch (Exception e) when (attempt < 3 && e is InvalidOperationException or OperationCanceledException)
            {
                await server.DisposeAsync(); // most likely the port was taken in between: try another
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>Just enough of PNG to look at a screenshot: 8-bit RGB or RGBA, not interlaced.</summary>
public sealed class PngPixels
{
    private PngPixels(int width, int height, byte[] rgb)
    {
        Width = width;
        Height = height;
        Rgb = rgb;
    }

    public int Width { get; }
    public int Height { get; }
    /// <summary>Three bytes per pixel, row after row.</summary>
    public byte[] Rgb { get; }

    public int Count(Func<byte, byte, byte, bool> predicate)
    {
        var count = 0;
        for (var i = 0; i < Rgb.Length; i += 3)
            if (predicate(Rgb[i], Rgb[i + 1], Rgb[i + 2])) count++;
        return count;
    }

    public int DistinctColors() =>
        Enumerable.Range(0, Rgb.Length / 3).Select(i => (Rgb[3 * i] << 16) | (Rgb[3 * i + 1] << 8) | Rgb[3 * i + 2]).Distinct().Count();

    public static PngPixels Decode(byte[] png)
    {
        if (!png.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }))
            throw new InvalidDataException("not a PNG");
        int width = 0, height = 0, colorType = 0;
        var idat = new MemoryStream();
        for (var position = 8; position < png.Length;)
        {
            var length = (png[position] << 24) | (png[position + 1] << 16) | (png[position + 2] << 8) | png[position + 3];
            var type = System.Text.Encoding.ASCII.GetString(png, position + 4, 4);
            var data = png.AsSpan(position + 8, length);
            if (type == "IHDR")
            {
                width = (data[0] << 24) | (data[1] << 16) | (data[2] << 8) | data[3];
                height = (data[4] << 24) | (data[5] << 16) | (data[6] << 8) | data[7];
                if (data[8] != 8 || data[12] != 0 || data[9] is not (2 or 6))
                    throw new InvalidDataException($"unsupported PNG: depth {data[8]}, colour type {data[9]}, interlace {data[12]}");
                colorType = data[9];
            }
            else if (type == "IDAT") idat.Write(data);
            else if (type == "IEND") break;
            position += 12 + length;
        }
        var channels = colorType == 6 ? 4 : 3;
        var stride = width * channels;
        var raw = new MemoryStream();
        using (var z = new ZLibStream(new MemoryStream(idat.ToArray()), CompressionMode.Decompress)) z.CopyTo(raw);
        var bytes = raw.ToArray();
        var previous = new byte[stride];
        var current = new byte[stride];
        var rgb = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        {
            var filter = bytes[y * (stride + 1)];
            var line = bytes.AsSpan(y * (stride + 1) + 1, stride);
            for (var x = 0; x < stride; x++)
            {
                int a = x >= channels ? current[x - channels] : 0, b = previous[x], c = x >= channels ? previous[x - channels] : 0;
                current[x] = (byte)(line[x] + filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw new InvalidDataException($"bad filter {filter}"),
                });
            }
            for (var x = 0; x < width; x++)
            for (var k = 0; k < 3; k++)
                rgb[(y * width + x) * 3 + k] = current[x * channels + k];
            (previous, current) = (current, previous);
        }
        return new PngPixels(width, height, rgb);
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
