using Vmi.Machine.Time;

namespace Vmi.Machine.Tests.Time;

public sealed class TimerQueueTests
{
    private readonly TimerQueue _queue = new();
    private readonly List<string> _log = [];

    [Fact]
    public void Empty_queue_has_no_deadline()
    {
        Assert.Equal(long.MaxValue, _queue.NextDeadline);
        _queue.RunDue(long.MaxValue);
        Assert.Empty(_log);
    }

    [Fact]
    public void Callbacks_run_in_deadline_order_and_only_when_due()
    {
        _queue.Schedule(300, Log("c"));
        _queue.Schedule(100, Log("a"));
        _queue.Schedule(200, Log("b"));
        Assert.Equal(100, _queue.NextDeadline);

        _queue.RunDue(199);
        Assert.Equal(["a"], _log);
        Assert.Equal(200, _queue.NextDeadline);

        _queue.RunDue(1000);
        Assert.Equal(["a", "b", "c"], _log);
        Assert.Equal(long.MaxValue, _queue.NextDeadline);
    }

    [Fact]
    public void Equal_deadlines_run_in_scheduling_order()
    {
        for (int i = 0; i < 20; i++)
        {
            _queue.Schedule(i % 2 == 0 ? 50 : 40, Log(i.ToString()));
        }

        _queue.RunDue(50);

        string[] odds = [.. Enumerable.Range(0, 20).Where(i => i % 2 == 1).Select(i => i.ToString())];
        string[] evens = [.. Enumerable.Range(0, 20).Where(i => i % 2 == 0).Select(i => i.ToString())];
        Assert.Equal([.. odds, .. evens], _log);
    }

    [Fact]
    public void Cancelled_timers_do_not_run_and_stop_defining_the_deadline()
    {
        int first = _queue.Schedule(10, Log("first"));
        _queue.Schedule(20, Log("second"));
        Assert.NotEqual(0, first);

        _queue.Cancel(first);
        _queue.Cancel(first);    // twice is harmless
        _queue.Cancel(123_456);  // unknown handle too

        Assert.Equal(20, _queue.NextDeadline);
        _queue.RunDue(100);
        Assert.Equal(["second"], _log);
    }

    [Fact]
    public void Callbacks_may_schedule_and_cancel_and_due_reschedules_run_in_the_same_pass()
    {
        int doomed = 0;
        _queue.Schedule(10, () =>
        {
            _log.Add("a");
            _queue.Schedule(15, Log("rescheduled"));
            _queue.Schedule(500, Log("later"));
            _queue.Cancel(doomed);
        });
        doomed = _queue.Schedule(12, Log("doomed"));

        _queue.RunDue(20);

        Assert.Equal(["a", "rescheduled"], _log);
        Assert.Equal(500, _queue.NextDeadline);
    }

    [Fact]
    public void Matches_a_sorted_reference_under_random_schedule_and_cancel()
    {
        var random = new Random(1234);
        var reference = new List<(long Deadline, int Order, int Handle)>();
        var ran = new List<int>();
        for (int order = 0; order < 2000; order++)
        {
            long deadline = random.Next(0, 300);
            int captured = order;
            int handle = _queue.Schedule(deadline, () => ran.Add(captured));
            reference.Add((deadline, order, handle));
            if (random.Next(4) == 0)
            {
                var victim = reference[random.Next(reference.Count)];
                _queue.Cancel(victim.Handle);
                reference.Remove(victim);
            }
        }

        _queue.RunDue(299);

        int[] expected = [.. reference.OrderBy(e => e.Deadline).ThenBy(e => e.Order).Select(e => e.Order)];
        Assert.Equal(expected, ran);
        Assert.Equal(0, _queue.Count);
    }

    private Action Log(string name) => () => _log.Add(name);
}
