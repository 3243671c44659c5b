using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orrery.Environments.Specs;
using Orrery.Hub.Auth;

namespace Orrery.Environments.Api;

/// <summary>
/// Who may call the environments service: an Orrery token (<c>Authorization: token|bearer</c>) or the login cookie
/// (same origin), with <c>access:services</c> for this service — the scope every user has and personal servers' tokens
/// carry. Failures and <see cref="EnvironmentsApiException"/>/<see cref="SpecException"/> become ProblemDetails.
/// </summary>
public sealed class EnvironmentsAuthFilter : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        try
        {
            var caller = await context.RequestServices.GetRequiredService<CallerResolver>().ResolveApiCallerAsync(context);
            if (caller is null)
            {
                context.Response.Headers.WWWAuthenticate = "token";
                return Problem(401, "Authentication required: send 'Authorization: token <your Orrery API token>'.");
            }
            var service = context.RequestServices.GetRequiredService<IOptions<EnvironmentsOptions>>().Value.ServiceName;
            var needed = $"access:services!service={service}";
            if (!caller.Scopes.Contains("access:services") && !caller.Scopes.Contains(needed))
                return Problem(403, $"This token lacks the scope {needed}.");
            context.Items[typeof(Caller)] = caller;
            return await next(invocation);
        }
        catch (SpecException e)
        {
            return TypedResults.Problem(e.Message, statusCode: 400, title: "Invalid environment spec",
                extensions: new Dictionary<string, object?> { ["field"] = e.Field });
        }
        catch (EnvironmentsApiException e)
        {
            return Problem(e.Status, e.Message);
        }
        catch (DbUpdateException)
        {
            return Problem(409, "The environment was changed by another request at the same time; try again.");
        }
    }

    public static IResult Problem(int status, string detail) => TypedResults.Problem(detail, statusCode: status);
}
