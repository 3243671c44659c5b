using Microsoft.AspNetCore.Http;
using Orrery.Hub.Auth;

namespace Orrery.Hub.Pages;

/// <summary>
/// A part of <c>/hub/home</c> that another module contributes (e.g. the user's servers), so the hub shows it without
/// referencing that module. Register with <c>services.AddScoped&lt;IHomeSection, …&gt;()</c>; sections appear in
/// registration order, below the hub's own lines.
/// </summary>
public interface IHomeSection
{
    /// <summary>The section's HTML for the signed-in <paramref name="caller"/>; text in it must be encoded (<see cref="Page.E"/>).</summary>
    Task<string> RenderAsync(HttpContext context, Caller caller);
}
