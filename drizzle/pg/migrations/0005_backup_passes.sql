CREATE TABLE "passes" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"namespace" text COLLATE "C" NOT NULL,
	"root" text COLLATE "C" NOT NULL,
	"host" text DEFAULT '' NOT NULL,
	"folder" text DEFAULT '' NOT NULL,
	"started_at" bigint NOT NULL,
	"ended_at" bigint NOT NULL,
	"received_at" bigint NOT NULL,
	"scanned" bigint NOT NULL,
	"uploaded" bigint NOT NULL,
	"failed" bigint NOT NULL,
	"deleted" bigint NOT NULL,
	"bytes" bigint NOT NULL,
	"stopped" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
ALTER TABLE "clients" ADD COLUMN "last_seen" bigint;--> statement-breakpoint
CREATE INDEX "passes_ns_root" ON "passes" USING btree ("namespace","root","id");