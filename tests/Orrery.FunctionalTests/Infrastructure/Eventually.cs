namespace Orrery.FunctionalTests.Infrastructure;

/// <summary>Polls a condition with a generous deadline; a bound so nothing hangs, not a timing assertion.</summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<Task<bool>> condition, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Condition not met within {seconds} s.");
            await Task.Delay(100);
        }
    }
}
