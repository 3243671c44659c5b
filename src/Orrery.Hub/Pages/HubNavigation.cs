namespace Orrery.Hub.Pages;

/// <summary>Links other modules add to the hub pages' navigation bar (e.g. the gateway's cluster list).</summary>
public sealed class HubNavigation
{
    private readonly List<(string Label, string Path)> _links = [];

    public IReadOnlyList<(string Label, string Path)> Links => _links;

    public void Add(string label, string path) => _links.Add((label, path));
}
