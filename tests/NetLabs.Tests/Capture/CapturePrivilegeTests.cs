using NetLabs.Tests.Support;
using NetLabs.Web;

namespace NetLabs.Tests.Capture;

/// <summary>
/// Capture where it is not allowed: a user the test creates (and removes) runs <c>netlabs web get --capture</c>. The
/// request must still be answered, and the user gets the reason and the fix instead of a stack trace.
/// </summary>
public sealed class CapturePrivilegeTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [SkippableFact]
    public async Task Without_the_privilege_the_traffic_runs_and_the_card_says_how_to_fix_it()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && Environment.UserName == "root", "creating a user for the test needs root on Linux.");
        var useradd = ExternalProcess.Require("useradd", "passwd");
        var userdel = ExternalProcess.Require("userdel", "passwd");
        var runuser = ExternalProcess.Require("runuser", "util-linux");
        var dotnet = ExternalProcess.Require("dotnet", "dotnet-sdk");
        var user = $"nlcap{Guid.NewGuid():N}"[..16];
        var added = await ExternalProcess.RunAsync(useradd, ["--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", user], Wait);
        Assert.True(added.ExitCode == 0, added.ToString());
        try
        {
            await using var server = WebServer.Start(new WebServerOptions { Root = Path.Combine(RepoPaths.Data, "www") });
            var get = await ExternalProcess.RunAsync(runuser,
                ["-u", user, "--", "env", "HOME=/tmp", "DOTNET_CLI_TELEMETRY_OPTOUT=1", dotnet, NetlabsTool.Dll,
                 "web", "get", "127.0.0.1", server.Port.ToString(), "HelloWorld.html", "--capture"], Wait);

            Assert.True(get.ExitCode == 0, get.ToString());
            Assert.Contains("Hello world!", get.StandardOutput);     // the lab's traffic ran
            Assert.Equal(1, server.Counters.Requests);
            var card = get.StandardError.Trim();
            Assert.Single(card.Split('\n'));
            Assert.StartsWith("netlabs: No packets captured:", card);
            Assert.Contains("cap_net_raw", card);
            Assert.Contains("setcap", card);
            Assert.Contains("every network interface", card); // what granting it means
            Assert.DoesNotContain("   at ", get.StandardOutput + get.StandardError);
        }
        finally
        {
            await ExternalProcess.RunAsync(userdel, [user], Wait);
        }
    }

    [SkippableFact]
    public async Task Without_libpcap_the_traffic_runs_and_the_card_names_the_package()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && Environment.UserName == "root", "hiding libpcap in a mount namespace needs root on Linux.");
        var unshare = ExternalProcess.Require("unshare", "util-linux");
        var dotnet = ExternalProcess.Require("dotnet", "dotnet-sdk");
        // libpcap is hidden from this one command only: /dev/null is mounted over it in a private mount namespace.
        var libraries = new[] { "/usr/lib", "/lib" }.Where(Directory.Exists)
            .SelectMany(d => Directory.GetDirectories(d, "*-linux-gnu").Append(d))
            .SelectMany(d => Directory.GetFiles(d, "libpcap.so*"))
            .Where(f => new FileInfo(f).LinkTarget is null).Distinct().ToList();
        Skip.If(libraries.Count == 0, "libpcap is not installed (apt-get install libpcap0.8); .ci/run installs it.");
        await using var server = WebServer.Start(new WebServerOptions { Root = Path.Combine(RepoPaths.Data, "www") });
        var hide = string.Join(" && ", libraries.Select(l => $"mount --bind /dev/null '{l}'"));
        var get = await ExternalProcess.RunAsync(unshare,
            ["--mount", "--propagation", "private", "sh", "-c", $"{hide} && exec '{dotnet}' '{NetlabsTool.Dll}' web get 127.0.0.1 {server.Port} HelloWorld.html --capture"], Wait);

        Assert.True(get.ExitCode == 0, get.ToString());
        Assert.Contains("Hello world!", get.StandardOutput);
        var card = get.StandardError.Trim();
        Assert.Single(card.Split('\n'));
        Assert.StartsWith("netlabs: No packets captured: the packet capture library is not installed", card);
        Assert.Contains("apt-get install libpcap0.8", card);
    }
}
