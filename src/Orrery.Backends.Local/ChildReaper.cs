using System.Collections.Concurrent;
using System.Diagnostics;

namespace Orrery.Backends.Local;

/// <summary>
/// Holds the <see cref="Process"/> of every child this Orrery process started until it exits: .NET reaps a
/// child it tracks, so ended resources do not pile up as zombies, and each Process is disposed once done.
/// </summary>
internal sealed class ChildReaper(Action onExit) : IDisposable
{
    private readonly ConcurrentDictionary<int, Process> _children = new();
    private readonly CancellationTokenSource _disposing = new();

    public void Track(int pid, Process process)
    {
        _children[pid] = process;
        _ = ReapAsync(pid, process);
    }

    public void Dispose()
    {
        // The children keep running (their state lives on disk); we only stop watching them.
        _disposing.Cancel();
        foreach (KeyValuePair<int, Process> child in _children)
        {
            if (_children.TryRemove(child))
            {
                child.Value.Dispose();
            }
        }

        _disposing.Dispose();
    }

    private async Task ReapAsync(int pid, Process process)
    {
        try
        {
            await process.WaitForExitAsync(_disposing.Token).ConfigureAwait(false);
            onExit();
        }
        catch (OperationCanceledException)
        {
            // Disposed while the child still runs.
        }
        finally
        {
            if (_children.TryRemove(new KeyValuePair<int, Process>(pid, process)))
            {
                process.Dispose();
            }
        }
    }
}
