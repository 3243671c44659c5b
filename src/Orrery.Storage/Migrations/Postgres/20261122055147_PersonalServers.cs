using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Orrery.Storage.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class PersonalServers : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "ServerId",
                table: "Tokens",
                type: "bigint",
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "KeepRunning",
                table: "Clusters",
                type: "boolean",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<long>(
                name: "ServerId",
                table: "Clusters",
                type: "bigint",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "Servers",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    UserId = table.Column<long>(type: "bigint", nullable: false),
                    Name = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    State = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    StopRequested = table.Column<bool>(type: "boolean", nullable: false),
                    EndAsFailed = table.Column<bool>(type: "boolean", nullable: false),
                    ResourceId = table.Column<string>(type: "text", nullable: true),
                    Profile = table.Column<string>(type: "text", nullable: false),
                    UserOptionsJson = table.Column<string>(type: "text", nullable: true),
                    Address = table.Column<string>(type: "text", nullable: true),
                    TokenId = table.Column<long>(type: "bigint", nullable: true),
                    Created = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    Started = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    Ready = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    LastActivity = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    Ended = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    Reason = table.Column<string>(type: "text", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Servers", x => x.Id);
                    table.ForeignKey(
                        name: "FK_Servers_Users_UserId",
                        column: x => x.UserId,
                        principalTable: "Users",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_Tokens_ServerId",
                table: "Tokens",
                column: "ServerId");

            migrationBuilder.CreateIndex(
                name: "IX_Clusters_ServerId",
                table: "Clusters",
                column: "ServerId");

            migrationBuilder.CreateIndex(
                name: "IX_Servers_State",
                table: "Servers",
                column: "State");

            migrationBuilder.CreateIndex(
                name: "IX_Servers_UserId_Name",
                table: "Servers",
                columns: new[] { "UserId", "Name" },
                unique: true);

            migrationBuilder.AddForeignKey(
                name: "FK_Tokens_Servers_ServerId",
                table: "Tokens",
                column: "ServerId",
                principalTable: "Servers",
                principalColumn: "Id",
                onDelete: ReferentialAction.Cascade);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropForeignKey(
                name: "FK_Tokens_Servers_ServerId",
                table: "Tokens");

            migrationBuilder.DropTable(
                name: "Servers");

            migrationBuilder.DropIndex(
                name: "IX_Tokens_ServerId",
                table: "Tokens");

            migrationBuilder.DropIndex(
                name: "IX_Clusters_ServerId",
                table: "Clusters");

            migrationBuilder.DropColumn(
                name: "ServerId",
                table: "Tokens");

            migrationBuilder.DropColumn(
                name: "KeepRunning",
                table: "Clusters");

            migrationBuilder.DropColumn(
                name: "ServerId",
                table: "Clusters");
        }
    }
}
