namespace NetLabs.Icmp;

/// <summary>ICMP message types (RFC 792, 950, 1256, 8335); the deprecated ones are listed so they can be named.</summary>
public enum IcmpType : byte
{
    EchoReply = 0,
    DestinationUnreachable = 3,
    SourceQuench = 4,
    Redirect = 5,
    EchoRequest = 8,
    RouterAdvertisement = 9,
    RouterSolicitation = 10,
    TimeExceeded = 11,
    ParameterProblem = 12,
    Timestamp = 13,
    TimestampReply = 14,
    InformationRequest = 15,
    InformationReply = 16,
    AddressMaskRequest = 17,
    AddressMaskReply = 18,
    ExtendedEchoRequest = 42,
    ExtendedEchoReply = 43,
}

/// <summary>Names and plain meanings of every ICMP type and code, and traceroute's one-letter marks for errors.</summary>
public static class IcmpNames
{
    private static readonly string[] Unreachable =
    [
        "network unreachable", "host unreachable", "protocol unreachable", "port unreachable",
        "fragmentation needed and DF set", "source route failed", "destination network unknown",
        "destination host unknown", "source host isolated", "network administratively prohibited",
        "host administratively prohibited", "network unreachable for type of service",
        "host unreachable for type of service", "communication administratively prohibited",
        "host precedence violation", "precedence cutoff in effect",
    ];

    private static readonly string[] Redirects =
        ["redirect for the network", "redirect for the host", "redirect for the type of service and network", "redirect for the type of service and host"];

    private static readonly string[] TimeExceededCodes = ["time to live exceeded in transit", "fragment reassembly time exceeded"];

    private static readonly string[] ParameterProblems = ["pointer indicates the error", "missing a required option", "bad length"];

    /// <summary>The type's name, e.g. "destination unreachable"; unknown types are named by number.</summary>
    public static string TypeName(byte type) => (IcmpType)type switch
    {
        IcmpType.EchoReply => "echo reply",
        IcmpType.DestinationUnreachable => "destination unreachable",
        IcmpType.SourceQuench => "source quench (deprecated)",
        IcmpType.Redirect => "redirect",
        IcmpType.EchoRequest => "echo request",
        IcmpType.RouterAdvertisement => "router advertisement",
        IcmpType.RouterSolicitation => "router solicitation",
        IcmpType.TimeExceeded => "time exceeded",
        IcmpType.ParameterProblem => "parameter problem",
        IcmpType.Timestamp => "timestamp",
        IcmpType.TimestampReply => "timestamp reply",
        IcmpType.InformationRequest => "information request (deprecated)",
        IcmpType.InformationReply => "information reply (deprecated)",
        IcmpType.AddressMaskRequest => "address mask request (deprecated)",
        IcmpType.AddressMaskReply => "address mask reply (deprecated)",
        IcmpType.ExtendedEchoRequest => "extended echo request",
        IcmpType.ExtendedEchoReply => "extended echo reply",
        _ => $"type {type}",
    };

    /// <summary>"type: code", e.g. "destination unreachable: port unreachable"; codes without names are given by number.</summary>
    public static string Describe(byte type, byte code)
    {
        var codes = (IcmpType)type switch
        {
            IcmpType.DestinationUnreachable => Unreachable,
            IcmpType.Redirect => Redirects,
            IcmpType.TimeExceeded => TimeExceededCodes,
            IcmpType.ParameterProblem => ParameterProblems,
            _ => null,
        };
        if (codes is null) return code == 0 ? TypeName(type) : $"{TypeName(type)}: code {code}";
        return code < codes.Length ? $"{TypeName(type)}: {codes[code]}" : $"{TypeName(type)}: code {code}";
    }

    /// <summary>True for the types that report a problem with a datagram and quote its header.</summary>
    public static bool IsError(byte type) => (IcmpType)type is IcmpType.DestinationUnreachable or IcmpType.SourceQuench
        or IcmpType.Redirect or IcmpType.TimeExceeded or IcmpType.ParameterProblem;

    /// <summary>
    /// What traceroute prints after an RTT for an unreachable code (!N network, !H host, !P protocol, !F fragmentation
    /// needed, !S source route, !X administratively prohibited, !&lt;code&gt; otherwise); empty for port unreachable,
    /// which is how a UDP trace normally ends.
    /// </summary>
    public static string TracerouteMark(byte code) => code switch
    {
        0 or 6 or 11 => "!N",
        1 or 7 or 12 => "!H",
        2 => "!P",
        3 => "",
        4 => "!F",
        5 => "!S",
        9 or 10 or 13 => "!X",
        14 => "!V",
        15 => "!C",
        _ => $"!<{code}>",
    };

    /// <summary>Every error type and code with its meaning: the notebook's reference table.</summary>
    public static IEnumerable<(byte Type, byte Code, string Meaning)> AllErrors()
    {
        for (byte c = 0; c < Unreachable.Length; c++) yield return (3, c, Describe(3, c));
        yield return (4, 0, Describe(4, 0));
        for (byte c = 0; c < Redirects.Length; c++) yield return (5, c, Describe(5, c));
        for (byte c = 0; c < TimeExceededCodes.Length; c++) yield return (11, c, Describe(11, c));
        for (byte c = 0; c < ParameterProblems.Length; c++) yield return (12, c, Describe(12, c));
    }
}
