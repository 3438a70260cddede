namespace NetLabs.Checks;

/// <summary>
/// The calls of a student's function made while one check runs, counted until they return. .NET cannot stop a running
/// thread, so a loop in the student's code that ignores its token and its closed socket outlives its check; the count
/// lets <see cref="CheckRunner"/> see that and say so on the card. A battery runs each call of the student's function
/// through <see cref="RunAsync{T}"/> (the count follows the check into the servers it starts: an <see cref="AsyncLocal{T}"/>).
/// </summary>
public sealed class StudentCalls
{
    private static readonly AsyncLocal<StudentCalls?> Current = new();
    private int _running;

    private StudentCalls() { }

    /// <summary>Calls of the student's function that have not returned yet.</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>Starts counting for the check that runs on this flow from here on.</summary>
    internal static StudentCalls BeginCounting() => Current.Value = new StudentCalls();

    /// <summary>One call of the student's function, counted for the running check (outside a check it just runs).</summary>
    public static async Task<T> RunAsync<T>(Func<Task<T>> call)
    {
        var calls = Current.Value;
        if (calls is null) return await call().ConfigureAwait(false);
        Interlocked.Increment(ref calls._running);
        try
        {
            // call() itself is inside the count: a loop before the student's first await never returns from it.
            return await call().ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref calls._running);
        }
    }

    /// <inheritdoc cref="RunAsync{T}"/>
    public static Task RunAsync(Func<Task> call) => RunAsync(async () =>
    {
        await call().ConfigureAwait(false);
        return true;
    });
}
