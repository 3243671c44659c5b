using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Orrery.Storage.Migrations.Sqlite
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
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "KeepRunning",
                table: "Clusters",
                type: "INTEGER",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<long>(
                name: "ServerId",
                table: "Clusters",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "Servers",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    UserId = table.Column<long>(type: "INTEGER", nullable: false),
                    Name = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    State = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    StopRequested = table.Column<bool>(type: "INTEGER", nullable: false),
                    EndAsFailed = table.Column<bool>(type: "INTEGER", nullable: false),
                    ResourceId = table.Column<string>(type: "TEXT", nullable: true),
                    Profile = table.Column<string>(type: "TEXT", nullable: false),
                    UserOptionsJson = table.Column<string>(type: "TEXT", nullable: true),
                    Address = table.Column<string>(type: "TEXT", nullable: true),
                    TokenId = table.Column<long>(type: "INTEGER", nullable: true),
                    Created = table.Column<DateTime>(type: "TEXT", nullable: false),
                    Started = table.Column<DateTime>(type: "TEXT", nullable: true),
                    Ready = table.Column<DateTime>(type: "TEXT", nullable: true),
                    LastActivity = table.Column<DateTime>(type: "TEXT", nullable: true),
                    Ended = table.Column<DateTime>(type: "TEXT", nullable: true),
                    Reason = table.Column<string>(type: "TEXT", nullable: true)
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
