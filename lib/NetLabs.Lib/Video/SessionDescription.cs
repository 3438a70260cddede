using System.Globalization;
using System.Net;

namespace NetLabs.Video;

/// <summary>
/// The SDP (RFC 4566) a DESCRIBE returns: one video stream, RTP/AVP payload type 26 (JPEG, RFC 2435), whose SETUP
/// URL is the content base plus <see cref="TrackControl"/>.
/// </summary>
public static class SessionDescription
{
    public const string TrackControl = "trackID=0";

    public static string For(MjpegClip clip, IPAddress serverAddress)
    {
        var family = serverAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "IP6" : "IP4";
        var version = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return FormattableString.Invariant($"""
            v=0
            o=- {version} {version} IN {family} {serverAddress}
            s={clip.Name}
            c=IN {family} {(family == "IP6" ? "::" : "0.0.0.0")}
            t=0 0
            a=control:*
            a=range:npt=0-{clip.Duration.TotalSeconds:F3}
            m=video 0 RTP/AVP {RtpPacket.JpegPayloadType}
            a=rtpmap:{RtpPacket.JpegPayloadType} JPEG/{RtpPacket.VideoClockRate}
            a=framerate:{clip.FramesPerSecond}
            a=x-dimensions:{clip.Width},{clip.Height}
            a=control:{TrackControl}

            """).ReplaceLineEndings("\r\n");
    }
}
