# The DealLedger API and CLI in one image (docker-compose.yml runs it). Tests and CI never use
# Docker; they start a private PostgreSQL cluster with eng/pg.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/DealLedger.Api/DealLedger.Api.csproj -c Release -o /app/api \
 && dotnet publish src/DealLedger.Cli/DealLedger.Cli.csproj -c Release -o /app/cli

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app /app
COPY migrations /app/migrations
COPY seeds /app/seeds
ENV ASPNETCORE_URLS=http://0.0.0.0:8080
EXPOSE 8080
# Production never creates schema: run `dotnet /app/cli/dealledger.dll migrate --dir /app/migrations` first (compose does).
ENTRYPOINT ["dotnet", "/app/api/DealLedger.Api.dll"]
