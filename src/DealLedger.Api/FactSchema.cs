using DealLedger.Deals;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace DealLedger.Api;

/// <summary>
/// A fact's schema in the OpenAPI document: the one JSON shape every kind of fact is written in (<see cref="Fact.JsonShape"/>),
/// not the empty schema a type read and written by a converter of its own would get.
/// </summary>
public sealed class FactSchema : IOpenApiSchemaTransformer
{
    public async Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.JsonTypeInfo.Type != typeof(Fact))
        {
            return;
        }
        var shape = await context.GetOrCreateSchemaAsync(Fact.JsonShape, null, cancellationToken);
        schema.Type = shape.Type;
        schema.Properties = shape.Properties;
        schema.Required = shape.Required;
    }
}
