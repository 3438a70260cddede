namespace NetLabs.Cli.CommandLine;

/// <summary>
/// Passwords come from an environment variable or an interactive prompt, never from an argument (arguments end up in
/// shell history and in `ps` for everyone on the machine), and are never printed.
/// </summary>
public static class Secrets
{
    public static string Password(string environmentVariable, string prompt)
    {
        if (Environment.GetEnvironmentVariable(environmentVariable) is { Length: > 0 } fromEnvironment) return fromEnvironment;
        if (Console.IsInputRedirected)
            throw new CliFailure($"no password: set {environmentVariable} (input is not a terminal, so it cannot be asked for).", 2);
        Console.Error.Write(prompt);
        var password = new System.Text.StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter) break;
            if (key.Key == ConsoleKey.Backspace) { if (password.Length > 0) password.Length--; continue; }
            if (!char.IsControl(key.KeyChar)) password.Append(key.KeyChar);
        }
        Console.Error.WriteLine();
        return password.ToString();
    }
}
