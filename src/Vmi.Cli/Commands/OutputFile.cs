namespace Vmi.Cli.Commands;

/// <summary>
/// An output a command writes (--serial, --json, --trace, rom build's --output, or the console).
/// Files are created before any work starts, so a path that cannot be written is reported up
/// front (<see cref="TryCreate"/>). Writes never throw: the first failure (a full disk, a closed
/// pipe) is kept in <see cref="Failure"/> and everything after it is counted as lost, so a host
/// problem can neither end the guest's run early nor escape as an exception; the command reports
/// it in one line when the work is done (<see cref="Problem"/>).
/// </summary>
internal sealed class OutputFile : Stream
{
    private const int FileBufferBytes = 64 * 1024;

    private readonly Stream inner;
    private readonly byte[] buffer;
    private int buffered;

    private OutputFile(string option, string path, Stream inner, int bufferBytes)
    {
        Option = option;
        Path = path;
        this.inner = inner;
        buffer = new byte[bufferBytes];
    }

    /// <summary>The option that named this output ("--serial"), or "stdout"/"stderr", for messages.</summary>
    public string Option { get; }

    public string Path { get; }

    /// <summary>Why writing failed (the first error), or null while every byte got through.</summary>
    public string? Failure { get; private set; }

    /// <summary>Bytes that did not reach the file because of <see cref="Failure"/>.</summary>
    public long BytesLost { get; private set; }

    /// <summary>"OPTION PATH: write failed: reason (N bytes lost)", or null if nothing was lost.</summary>
    public string? Problem => Failure is null ? null : $"{Name}: write failed: {Failure} ({BytesLost} bytes lost)";

    /// <summary>"OPTION PATH", or the console stream's name.</summary>
    private string Name => Path.Length == 0 ? Option : $"{Option} {Path}";

    /// <summary>
    /// Creates (or truncates) <paramref name="path"/> for writing, or says why it cannot be written, as
    /// "OPTION PATH: cannot write: reason" (the same wording for every command).
    /// </summary>
    public static OutputFile? TryCreate(string option, string path, out string error)
    {
        string full = System.IO.Path.GetFullPath(path);
        error = "";
        string? directory = System.IO.Path.GetDirectoryName(full);
        if (directory is not null && !Directory.Exists(directory))
        {
            error = $"{option} {full}: cannot write: " + (File.Exists(directory) ? $"{directory} is not a directory" : $"no such directory {directory}");
            return null;
        }
        if (Directory.Exists(full))
        {
            error = $"{option} {full}: cannot write: is a directory";
            return null;
        }
        try
        {
            // Unbuffered: this class buffers, so that a failed write leaves nothing behind to fail again on close.
            // FileShare.Read lets a .NET reader watch the file while the guest runs.
            var stream = new FileStream(full, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 0);
            return new OutputFile(option, full, stream, FileBufferBytes);
        }
        catch (UnauthorizedAccessException)
        {
            error = $"{option} {full}: cannot write: permission denied";
        }
        catch (IOException e)
        {
            error = $"{option} {full}: cannot write: {e.Message}";
        }
        return null;
    }

    /// <summary>
    /// Standard output or error, unbuffered: an interactive guest's prompt (no newline yet) must show
    /// while it waits for a key.
    /// </summary>
    public static OutputFile ForConsole(string name, Stream stream) => new(name, "", stream, 0);

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] data, int offset, int count) => Write(data.AsSpan(offset, count));

    public override void WriteByte(byte value) => Write(new ReadOnlySpan<byte>(in value));

    public override void Write(ReadOnlySpan<byte> data)
    {
        if (Failure is not null)
        {
            BytesLost += data.Length;
            return;
        }
        if (buffered + data.Length > buffer.Length)
        {
            Flush();
        }
        if (data.Length >= buffer.Length)
        {
            Put(data);
            return;
        }
        if (Failure is not null)
        {
            BytesLost += data.Length;
            return;
        }
        data.CopyTo(buffer.AsSpan(buffered));
        buffered += data.Length;
    }

    public override void Flush()
    {
        if (buffered == 0)
        {
            return;
        }
        int n = buffered;
        buffered = 0;
        Put(buffer.AsSpan(0, n));
    }

    public override int Read(byte[] data, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Flush();
            try
            {
                inner.Dispose();
            }
            catch (IOException e)
            {
                // close(2) can report a write the kernel deferred (NFS, some full disks).
                Failure ??= e.Message;
            }
        }
        base.Dispose(disposing);
    }

    private void Put(ReadOnlySpan<byte> data)
    {
        if (Failure is not null)
        {
            BytesLost += data.Length;
            return;
        }
        try
        {
            inner.Write(data);
        }
        catch (IOException e)
        {
            Failure = Reason(e);
            // What a failed write(2) took is unknown; count the whole request as lost.
            BytesLost += data.Length;
        }
    }

    /// <summary>The system's reason without the path .NET appends (" : '/dev/full'"): the message names the path once.</summary>
    private string Reason(IOException e)
    {
        string suffix = $" : '{Path}'";
        return e.Message.EndsWith(suffix, StringComparison.Ordinal) ? e.Message[..^suffix.Length] : e.Message;
    }
}
