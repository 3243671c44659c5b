using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Orrery.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class Environments : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "EnvironmentId",
                table: "Servers",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "EnvironmentId",
                table: "Jobs",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "EnvironmentId",
                table: "Clusters",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "Warning",
                table: "Clusters",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "Environments",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Name = table.Column<string>(type: "TEXT", maxLength: 63, nullable: false),
                    ContentId = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    OwnerId = table.Column<long>(type: "INTEGER", nullable: false),
                    Kind = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    SpecJson = table.Column<string>(type: "TEXT", nullable: false),
                    State = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    BuildResourceId = table.Column<string>(type: "TEXT", nullable: true),
                    FailedStep = table.Column<string>(type: "TEXT", nullable: true),
                    Reason = table.Column<string>(type: "TEXT", nullable: true),
                    PackagesJson = table.Column<string>(type: "TEXT", nullable: false),
                    VersionsJson = table.Column<string>(type: "TEXT", nullable: false),
                    SharedWithGroup = table.Column<string>(type: "TEXT", nullable: true),
                    DefaultForProfile = table.Column<string>(type: "TEXT", nullable: true),
                    Created = table.Column<DateTime>(type: "TEXT", nullable: false),
                    Built = table.Column<DateTime>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Environments", x => x.Id);
                    table.ForeignKey(
                        name: "FK_Environments_Users_OwnerId",
                        column: x => x.OwnerId,
                        principalTable: "Users",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_Environments_ContentId",
                table: "Environments",
                column: "ContentId");

            migrationBuilder.CreateIndex(
                name: "IX_Environments_OwnerId_Name",
                table: "Environments",
                columns: new[] { "OwnerId", "Name" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "Environments");

            migrationBuilder.DropColumn(
                name: "EnvironmentId",
                table: "Servers");

            migrationBuilder.DropColumn(
                name: "EnvironmentId",
                table: "Jobs");

            migrationBuilder.DropColumn(
                name: "EnvironmentId",
                table: "Clusters");

            migrationBuilder.DropColumn(
                name: "Warning",
                table: "Clusters");
        }
    }
}
