using System.Collections.Concurrent;

namespace Orrery.Servers.Spawning;

/// <summary>One progress event of a spawn (protocol notes §1.9).</summary>
public sealed record ProgressEvent(int? Progress, string Message, bool Ready = false, bool Failed = false, string? Url = null)
{
    public bool IsFinal => Ready || Failed;
}

/// <summary>
/// The progress events of each server's current spawn, in memory, and a wake-up for the streams following them.
/// After a restart a spawn in flight has no history; its stream starts with the state the database shows.
/// </summary>
public sealed class ServerEvents
{
    private readonly ConcurrentDictionary<long, Spawn> _spawns = new();

    /// <summary>Starts a fresh history for a new spawn of <paramref name="serverId"/>.</summary>
    public void Begin(long serverId, ProgressEvent first)
    {
        var old = _spawns.GetValueOrDefault(serverId);
        var spawn = new Spawn();
        spawn.Add(first);
        _spawns[serverId] = spawn;
        old?.Wake();
    }

    public void Publish(long serverId, ProgressEvent e) => _spawns.GetOrAdd(serverId, _ => new Spawn()).Add(e);

    /// <summary>Events from index <paramref name="from"/> on, and a task that completes when there are more.</summary>
    public (IReadOnlyList<ProgressEvent> Events, Task More) Read(long serverId, int from)
    {
        var spawn = _spawns.GetOrAdd(serverId, _ => new Spawn());
        return spawn.Read(from);
    }

    private sealed class Spawn
    {
        private readonly List<ProgressEvent> _events = [];
        private TaskCompletionSource _more = NewSignal();

        public void Add(ProgressEvent e)
        {
            TaskCompletionSource signal;
            lock (_events)
            {
                if (_events.Count > 0 && _events[^1].IsFinal)
                    return;   // a spawn ends once
                _events.Add(e);
                signal = _more;
                _more = NewSignal();
            }
            signal.TrySetResult();
        }

        public void Wake()
        {
            lock (_events)
                _more.TrySetResult();
        }

        public (IReadOnlyList<ProgressEvent>, Task) Read(int from)
        {
            lock (_events)
                return (_events.Skip(from).ToList(), _more.Task);
        }

        private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
