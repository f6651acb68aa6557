using System.CommandLine;
using Vmi.Cli.Commands;

namespace Vmi.Cli;

/// <summary>The `vmi` command: a table of subcommands, one file each (kvmtool's builtin-*.c shape).</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        RawArguments.Capture(args);
        var root = new RootCommand("vmi: an i386 machine, VMI ROMs and hypervisors you can run, measure and compare")
        {
            RunCommand.Create(),
            Commands.Rom.RomCommand.Create(),
            SitesCommand.Create(),
            Commands.Compare.CompareCommand.Create(),
            Commands.Bench.BenchCommand.Create(),
        };
        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                Console.Error.WriteLine($"vmi: {error.Message}");
            }
            Console.Error.WriteLine("Try 'vmi --help'.");
            return (int)ExitCode.Usage;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (IOException e)
        {
            // Inputs and --options' files report their own problems; what reaches here is a command's
            // report on stdout failing (a full disk, a closed pipe): one line, not a stack trace.
            try
            {
                Console.Error.WriteLine($"vmi: stdout: write failed: {e.Message}");
            }
            catch (IOException)
            {
                // stderr is gone too: the exit code is all that is left.
            }
            return (int)ExitCode.Failure;
        }
    }
}

/// <summary>Process exit codes. A guest's debug-exit status is passed through instead when it exits that way.</summary>
public enum ExitCode
{
    Success = 0,
    Failure = 1,
    Usage = 2,
}
