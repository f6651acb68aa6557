namespace Vmi.Machine.Time;

/// <summary>
/// Device deadlines in guest ticks, kept in a binary min-heap. The CPU run loop compares
/// <see cref="NextDeadline"/> with the clock at block boundaries and calls <see cref="RunDue"/>; devices
/// never poll per instruction. Entries with equal deadlines run in scheduling order, so a run is
/// reproducible regardless of heap shape. Not thread-safe: everything runs on the guest thread.
/// </summary>
/// <remarks>Scheduling allocates only when the heap grows; devices should cache their callback delegate so
/// that re-arming a periodic timer allocates nothing.</remarks>
public sealed class TimerQueue
{
    private Entry[] _heap = new Entry[8];
    private int _count;
    private long _nextSequence;
    private int _nextHandle = 1;

    /// <summary>Earliest pending deadline, or long.MaxValue when nothing is scheduled.</summary>
    public long NextDeadline { get; private set; } = long.MaxValue;

    public int Count => _count;

    /// <summary>Told the new <see cref="NextDeadline"/> when a schedule makes it earlier (the VM then ends
    /// the running CPU slice there, so a timer armed mid-slice fires at its exact tick).</summary>
    public Action<long>? DeadlineMovedEarlier { get; set; }

    /// <returns>A handle for <see cref="Cancel"/>; never 0, so callers can use 0 for "no timer".</returns>
    public int Schedule(long deadlineTick, Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        if (_count == _heap.Length)
        {
            Array.Resize(ref _heap, _count * 2);
        }

        int handle = _nextHandle;
        _nextHandle = handle == int.MaxValue ? 1 : handle + 1;
        _heap[_count] = new Entry(deadlineTick, _nextSequence++, handle, callback);
        SiftUp(_count++);
        long before = NextDeadline;
        NextDeadline = _heap[0].Deadline;
        if (NextDeadline < before)
        {
            DeadlineMovedEarlier?.Invoke(NextDeadline);
        }
        return handle;
    }

    /// <summary>Removes the timer; unknown or already-run handles are ignored. Linear in the number of
    /// pending timers, which is a handful on a PC board.</summary>
    public void Cancel(int handle)
    {
        for (int i = 0; i < _count; i++)
        {
            if (_heap[i].Handle == handle)
            {
                RemoveAt(i);
                return;
            }
        }
    }

    /// <summary>Runs every callback whose deadline is at or before <paramref name="nowTick"/>, in
    /// (deadline, scheduling order). A callback may schedule or cancel timers; one it schedules at or
    /// before <paramref name="nowTick"/> runs in this same call.</summary>
    public void RunDue(long nowTick)
    {
        while (_count > 0 && _heap[0].Deadline <= nowTick)
        {
            Action callback = _heap[0].Callback;
            RemoveAt(0);
            callback();
        }
    }

    private void RemoveAt(int index)
    {
        _count--;
        if (index != _count)
        {
            _heap[index] = _heap[_count];
            _heap[_count] = default;
            if (index > 0 && Less(index, (index - 1) / 2))
            {
                SiftUp(index);
            }
            else
            {
                SiftDown(index);
            }
        }
        else
        {
            _heap[_count] = default;
        }

        NextDeadline = _count == 0 ? long.MaxValue : _heap[0].Deadline;
    }

    private void SiftUp(int index)
    {
        while (index > 0)
        {
            int parent = (index - 1) / 2;
            if (!Less(index, parent))
            {
                return;
            }

            (_heap[index], _heap[parent]) = (_heap[parent], _heap[index]);
            index = parent;
        }
    }

    private void SiftDown(int index)
    {
        while (true)
        {
            int left = (2 * index) + 1;
            if (left >= _count)
            {
                return;
            }

            int smallest = left + 1 < _count && Less(left + 1, left) ? left + 1 : left;
            if (!Less(smallest, index))
            {
                return;
            }

            (_heap[index], _heap[smallest]) = (_heap[smallest], _heap[index]);
            index = smallest;
        }
    }

    private bool Less(int a, int b) =>
        _heap[a].Deadline < _heap[b].Deadline
        || (_heap[a].Deadline == _heap[b].Deadline && _heap[a].Sequence < _heap[b].Sequence);

    private readonly record struct Entry(long Deadline, long Sequence, int Handle, Action Callback);
}
