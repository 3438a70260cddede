using NetLabs.Hosting;

namespace NetLabs.Tests.Hosting;

public sealed class BoundedLogTests
{
    [Fact]
    public void Keeps_the_latest_entries_oldest_first_and_counts_all()
    {
        var log = new BoundedLog<int>(3);
        for (var i = 1; i <= 7; i++) log.Add(i);
        Assert.Equal([5, 6, 7], log.Snapshot());
        Assert.Equal(7, log.Total);
    }

    [Fact]
    public void Fewer_entries_than_capacity_are_all_kept()
    {
        var log = new BoundedLog<string>(10);
        log.Add("a");
        log.Add("b");
        Assert.Equal(["a", "b"], log.Snapshot());
    }

    [Fact]
    public void Clear_forgets_the_kept_entries_but_not_the_total()
    {
        var log = new BoundedLog<int>(4);
        for (var i = 0; i < 6; i++) log.Add(i);
        log.Clear();
        Assert.Empty(log.Snapshot());
        log.Add(42);
        Assert.Equal([42], log.Snapshot());
        Assert.Equal(7, log.Total);
    }

    [Fact]
    public void Capacity_zero_keeps_nothing()
    {
        var log = new BoundedLog<int>(0);
        log.Add(1);
        Assert.Empty(log.Snapshot());
        Assert.Equal(1, log.Total);
    }

    [Fact]
    public async Task Concurrent_writers_never_lose_the_count_or_exceed_the_capacity()
    {
        var log = new BoundedLog<int>(100);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            for (var i = 0; i < 10_000; i++) log.Add(w);
        }))).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(40_000, log.Total);
        Assert.Equal(100, log.Snapshot().Count);
    }
}
