namespace Orrery.Storage.Entities;

public sealed class Group
{
    public long Id { get; set; }
    public required string Name { get; set; }
    public List<User> Users { get; set; } = [];
}
