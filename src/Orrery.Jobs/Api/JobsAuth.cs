using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orrery.Hub.Api;
using Orrery.Hub.Auth;

namespace Orrery.Jobs.Api;

/// <summary>
/// kbatch-proxy's rules (protocol notes §4.2): <c>Authorization: token|bearer &lt;Orrery token&gt;</c>, any case;
/// none or unknown → 401 <c>Incorrect token</c>; a token without <c>access:services</c> for this service → 403. It
/// also turns <see cref="JobsApiException"/> into <c>{"detail": …}</c> and a lost uniqueness race into 409.
/// </summary>
public sealed class JobsAuthFilter(bool requireCaller) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        try
        {
            if (requireCaller)
            {
                var secret = CallerResolver.HeaderToken(context.Request);
                var caller = secret is null ? null
                    : await context.RequestServices.GetRequiredService<CallerResolver>().FromTokenAsync(secret, context.RequestServices, context.RequestAborted);
                if (caller is null)
                    return Detail(401, "Incorrect token");
                var service = context.RequestServices.GetRequiredService<IOptions<JobsOptions>>().Value.ServiceName;
                var needed = $"access:services!service={service}";
                if (!caller.Scopes.Contains("access:services") && !caller.Scopes.Contains(needed))
                    return Detail(403, $"Not allowing request with scopes: [{string.Join(", ", caller.Scopes.Sorted.Select(s => $"'{s}'"))}]. Needs scope(s): {{'{needed}'}}");
                context.Items[typeof(Caller)] = caller;
            }
            return await next(invocation);
        }
        catch (JobsApiException e)
        {
            return Detail(e.Status, e.Message);
        }
        catch (DbUpdateException)
        {
            return Detail(409, "the object was changed by another request at the same time; try again");
        }
    }

    public static IResult Detail(int status, string detail) => new JsonWriterResult(status, w =>
    {
        w.WriteStartObject();
        w.WriteString("detail", detail);
        w.WriteEndObject();
    });
}
