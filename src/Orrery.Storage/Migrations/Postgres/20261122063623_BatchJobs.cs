using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Orrery.Storage.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class BatchJobs : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "CronJobs",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    OwnerId = table.Column<long>(type: "bigint", nullable: false),
                    Name = table.Column<string>(type: "character varying(63)", maxLength: 63, nullable: false),
                    Uid = table.Column<string>(type: "text", nullable: false),
                    GenerateName = table.Column<string>(type: "text", nullable: false),
                    Schedule = table.Column<string>(type: "text", nullable: false),
                    Suspend = table.Column<bool>(type: "boolean", nullable: false),
                    ConcurrencyPolicy = table.Column<string>(type: "text", nullable: false),
                    SuccessfulJobsHistoryLimit = table.Column<int>(type: "integer", nullable: false),
                    FailedJobsHistoryLimit = table.Column<int>(type: "integer", nullable: false),
                    StartingDeadlineSeconds = table.Column<int>(type: "integer", nullable: true),
                    JobTemplateJson = table.Column<string>(type: "text", nullable: false),
                    Directory = table.Column<string>(type: "text", nullable: false),
                    HasCode = table.Column<bool>(type: "boolean", nullable: false),
                    ServerId = table.Column<long>(type: "bigint", nullable: true),
                    Created = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    LastScheduleTime = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    LastSuccessfulTime = table.Column<DateTime>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_CronJobs", x => x.Id);
                    table.ForeignKey(
                        name: "FK_CronJobs_Users_OwnerId",
                        column: x => x.OwnerId,
                        principalTable: "Users",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "Jobs",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    OwnerId = table.Column<long>(type: "bigint", nullable: false),
                    Name = table.Column<string>(type: "character varying(63)", maxLength: 63, nullable: false),
                    Uid = table.Column<string>(type: "text", nullable: false),
                    GenerateName = table.Column<string>(type: "text", nullable: false),
                    Image = table.Column<string>(type: "text", nullable: false),
                    CommandJson = table.Column<string>(type: "text", nullable: true),
                    ArgsJson = table.Column<string>(type: "text", nullable: true),
                    EnvJson = table.Column<string>(type: "text", nullable: false),
                    Cores = table.Column<double>(type: "double precision", nullable: true),
                    MemoryBytes = table.Column<long>(type: "bigint", nullable: true),
                    BackoffLimit = table.Column<int>(type: "integer", nullable: false),
                    TtlSecondsAfterFinished = table.Column<int>(type: "integer", nullable: false),
                    Directory = table.Column<string>(type: "text", nullable: false),
                    HasCode = table.Column<bool>(type: "boolean", nullable: false),
                    State = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    Reason = table.Column<string>(type: "text", nullable: true),
                    ExitCode = table.Column<int>(type: "integer", nullable: true),
                    DeleteRequested = table.Column<bool>(type: "boolean", nullable: false),
                    TokenId = table.Column<long>(type: "bigint", nullable: true),
                    ServerId = table.Column<long>(type: "bigint", nullable: true),
                    CronJobId = table.Column<long>(type: "bigint", nullable: true),
                    Created = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    CompletionTime = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    FailedTime = table.Column<DateTime>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Jobs", x => x.Id);
                    table.ForeignKey(
                        name: "FK_Jobs_Users_OwnerId",
                        column: x => x.OwnerId,
                        principalTable: "Users",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "JobPods",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    JobId = table.Column<long>(type: "bigint", nullable: false),
                    Name = table.Column<string>(type: "text", nullable: false),
                    Uid = table.Column<string>(type: "text", nullable: false),
                    ResourceId = table.Column<string>(type: "text", nullable: true),
                    Created = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_JobPods", x => x.Id);
                    table.ForeignKey(
                        name: "FK_JobPods_Jobs_JobId",
                        column: x => x.JobId,
                        principalTable: "Jobs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_CronJobs_OwnerId_Name",
                table: "CronJobs",
                columns: new[] { "OwnerId", "Name" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_JobPods_JobId",
                table: "JobPods",
                column: "JobId");

            migrationBuilder.CreateIndex(
                name: "IX_JobPods_Name",
                table: "JobPods",
                column: "Name");

            migrationBuilder.CreateIndex(
                name: "IX_Jobs_CronJobId",
                table: "Jobs",
                column: "CronJobId");

            migrationBuilder.CreateIndex(
                name: "IX_Jobs_OwnerId_Name",
                table: "Jobs",
                columns: new[] { "OwnerId", "Name" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Jobs_State",
                table: "Jobs",
                column: "State");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "CronJobs");

            migrationBuilder.DropTable(
                name: "JobPods");

            migrationBuilder.DropTable(
                name: "Jobs");
        }
    }
}
