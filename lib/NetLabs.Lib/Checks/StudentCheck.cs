namespace NetLabs.Checks;

/// <summary>
/// One check of a student's code. <see cref="Run"/> returns what it saw when the code did the right thing and throws
/// <see cref="CheckFailedException"/> (or lets the student's own exception through) when it did not.
/// </summary>
/// <param name="Name">What is checked, e.g. "404 for a missing file".</param>
/// <param name="Hint">What to look at in the code when the check fails.</param>
/// <param name="Run">The check; it must honour the token (the runner cancels it at the timeout).</param>
/// <param name="Timeout">How long the check may take before the runner gives up on it.</param>
public sealed record StudentCheck(string Name, string Hint, Func<CancellationToken, Task<string>> Run, TimeSpan Timeout);

/// <summary>The student's code ran but did the wrong thing; the message says what we saw.</summary>
public sealed class CheckFailedException(string message) : Exception(message);

/// <summary>The one assertion the batteries use: <c>Expect(reply.Code == 250, "what we saw instead")</c>.</summary>
public static class Expectation
{
    public static void Expect(bool condition, string failure)
    {
        if (!condition) throw new CheckFailedException(failure);
    }
}
