async Task<List<TracerouteHop>> TraceLoop(Prober prober, IPAddress destination, TracerouteOptions options, CancellationToken cancellationToken)
{
    // Fill in start
    var hops = new List<TracerouteHop>();
    var sequence = 0;
    for (var ttl = options.FirstTtl; ttl <= options.MaxHops; ttl++)
    {
        var probes = new List<ProbeAnswer>();
        for (var i = 0; i < options.ProbesPerHop; i++)
        {
            // Each probe its own, full timeout: a silent router never eats the next probe's time.
            var request = new ProbeRequest(destination, ttl, (ushort)sequence++, options.ProbeTimeout, options.PayloadBytes);
            probes.Add(await prober.ProbeAsync(request, cancellationToken));
        }
        var hop = new TracerouteHop(ttl, probes, new Dictionary<IPAddress, string>());
        hops.Add(hop);
        if (hop.Ends) break;                        // the destination answered: echo reply or port unreachable
    }
    return hops;
    // Fill in end
}
