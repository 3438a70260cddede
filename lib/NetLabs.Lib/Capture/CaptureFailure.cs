using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using NetLabs.Display;

namespace NetLabs.Capture;

/// <summary>Why no packets could be captured.</summary>
public enum CaptureProblem
{
    /// <summary>libpcap (Linux, macOS) or Npcap (Windows) is not installed.</summary>
    NoLibrary,
    /// <summary>The library is there but this process may not capture.</summary>
    NoPermission,
    /// <summary>No loopback capture device (Npcap installed without loopback support) or the named device does not exist.</summary>
    NoDevice,
    /// <summary>The BPF filter does not compile.</summary>
    BadFilter,
    /// <summary>Anything else libpcap reported.</summary>
    Other,
}

/// <summary>
/// The card a cell shows instead of packets: what went wrong, in the words of libpcap, and the fix for this operating
/// system. The traffic it was meant to watch ran all the same.
/// </summary>
public sealed record CaptureFailure(CaptureProblem Problem, string Reason, string Fix, string Detail) : IHtmlDisplay
{
    /// <summary>Classifies an error of SharpPcap/libpcap and words the fix for the operating system this runs on.</summary>
    public static CaptureFailure From(Exception error, string device, string filter)
    {
        var inner = error is TypeInitializationException { InnerException: { } cause } ? cause : error;
        // The first line only: a missing library's message goes on to list every path the loader tried.
        var detail = $"{inner.GetType().Name}: {inner.Message.Split('\n')[0].Trim()}";
        if (inner is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
            return new(CaptureProblem.NoLibrary, $"the packet capture library is not installed ({LibraryName}).", LibraryFix(), detail);
        var message = inner.Message;
        if (message.Contains("PermissionDenied", StringComparison.OrdinalIgnoreCase)
            || message.Contains("permission", StringComparison.OrdinalIgnoreCase)
            || message.Contains("not permitted", StringComparison.OrdinalIgnoreCase)
            || inner is UnauthorizedAccessException)
            return NoPermission(device, detail);
        if (filter.Length > 0 && (message.Contains("filter", StringComparison.OrdinalIgnoreCase) || message.Contains("syntax", StringComparison.OrdinalIgnoreCase)))
            return new(CaptureProblem.BadFilter, $"the filter \"{filter}\" is not a valid capture filter.",
                "Write it in libpcap's filter language (man pcap-filter), e.g. \"tcp port 6789\", \"udp\", \"icmp\".", detail);
        return new(CaptureProblem.Other, $"capturing on {device} failed: {message}", OtherFix(), detail);
    }

    /// <summary>No capture device of that name, or no loopback device at all.</summary>
    public static CaptureFailure NoDevice(string? requested, IEnumerable<string> available)
    {
        var list = string.Join(", ", available);
        var detail = $"devices libpcap lists: {(list.Length == 0 ? "none" : list)}";
        if (requested is not null)
            return new(CaptureProblem.NoDevice, $"there is no capture device named \"{requested}\".", "Give one of the devices libpcap lists (below), or none for the loopback device.", detail);
        return new(CaptureProblem.NoDevice, "no loopback capture device was found.", OperatingSystem.IsWindows()
            ? "Reinstall Npcap (https://npcap.com) with \"Support loopback traffic\" ticked; it adds the device \\Device\\NPF_Loopback."
            : "libpcap lists no loopback device: check that the loopback interface is up (ip link set lo up / ifconfig lo0 up).", detail);
    }

    private static CaptureFailure NoPermission(string device, string detail)
    {
        if (OperatingSystem.IsWindows())
            return new(CaptureProblem.NoPermission, $"this program may not capture on {device}.",
                "Npcap was installed to allow capture by administrators only: start VS Code / the terminal \"as administrator\", or reinstall Npcap without \"Restrict Npcap driver's access to Administrators only\".", detail);
        if (OperatingSystem.IsMacOS())
            return new(CaptureProblem.NoPermission, $"this user may not open the packet filter devices (/dev/bpf*) to capture on {device}.",
                "Install Wireshark's ChmodBPF (it comes with the Wireshark installer) and log in again: it gives the access_bpf group, which you join, read access to /dev/bpf*. Or run as root (sudo).", detail);
        var program = ProgramPath();
        var shared = Path.GetFileNameWithoutExtension(program).Equals("dotnet", StringComparison.OrdinalIgnoreCase)
            ? " This is the shared dotnet host, so every .NET program on this machine, of every user, could then capture."
            : "";
        return new(CaptureProblem.NoPermission, $"this process may not capture on {device} (capturing needs root or the cap_net_raw capability).",
            $"Run as root, or give the program this runs in the capability, then start it again (in a notebook: restart the kernel): sudo setcap cap_net_raw=eip {program} " +
            $"(undo with sudo setcap -r {program}). What that means: every program started from that file can then read all traffic on every network interface of this machine, other users' included.{shared}",
            detail);
    }

    private static string LibraryName => OperatingSystem.IsWindows() ? "Npcap (wpcap.dll)" : "libpcap";

    private static string LibraryFix() =>
        OperatingSystem.IsWindows() ? "Install Npcap from https://npcap.com with \"Support loopback traffic\" ticked (the Wireshark installer offers it), then start the program again (in a notebook: restart the kernel)."
        : OperatingSystem.IsMacOS() ? "macOS ships libpcap in /usr/lib: check that /usr/lib/libpcap.A.dylib exists (Xcode command line tools repair it)."
        : "Install libpcap: sudo apt-get install libpcap0.8 (Debian, Ubuntu), sudo dnf install libpcap (Fedora), then start the program again (in a notebook: restart the kernel).";

    private static string OtherFix() =>
        OperatingSystem.IsWindows() ? "Check that Npcap is installed with loopback support and that its service runs (sc query npcap)."
        : "Try the same capture with tcpdump -i lo: if it fails too, the message above is libpcap's own.";

    /// <summary>The executable this process was started from (what setcap must name), with symbolic links resolved.</summary>
    private static string ProgramPath()
    {
        var path = Environment.ProcessPath ?? "dotnet";
        try { return new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path; }
        catch (IOException) { return path; }
    }

    public string ToHtml()
    {
        var html = new StringBuilder();
        html.Append("<div class=\"netlabs-capture-failure\" style=\"border:1px solid #c9b458;background:#fff8dc;padding:6px 10px;font-family:sans-serif;max-width:60em\">");
        html.Append("<div style=\"font-weight:bold\">No packets captured: ").Append(WebUtility.HtmlEncode(Reason)).Append("</div>");
        html.Append("<div style=\"margin-top:4px\"><b>Fix (").Append(WebUtility.HtmlEncode(RuntimeInformation.OSDescription)).Append("):</b> ").Append(WebUtility.HtmlEncode(Fix)).Append("</div>");
        html.Append("<div style=\"margin-top:4px;color:#555\">The lab's traffic ran as usual; only the capture is missing. libpcap said: <code>").Append(WebUtility.HtmlEncode(Detail)).Append("</code></div>");
        return html.Append("</div>").ToString();
    }

    public override string ToString() => $"No packets captured: {Reason} Fix: {Fix} ({Detail})";
}
