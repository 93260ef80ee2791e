CREATE TABLE "prune_holds" (
	"namespace" text COLLATE "C" PRIMARY KEY NOT NULL,
	"held_since" bigint,
	"reason" text DEFAULT '' NOT NULL,
	"resumed_at" bigint
);
--> statement-breakpoint
CREATE TABLE "trash" (
	"path" text COLLATE "C" PRIMARY KEY NOT NULL,
	"namespace" text COLLATE "C" NOT NULL,
	"version_id" bigint NOT NULL,
	"last_version_id" bigint NOT NULL,
	"deleted_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "versions" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"path" text COLLATE "C" NOT NULL,
	"namespace" text COLLATE "C" NOT NULL,
	"sha256" text COLLATE "C",
	"size" bigint NOT NULL,
	"mtime" bigint,
	"uploaded_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "files" ADD COLUMN "version_id" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "versions" ADD CONSTRAINT "versions_sha256_blobs_sha256_fk" FOREIGN KEY ("sha256") REFERENCES "public"."blobs"("sha256") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "versions_path_time" ON "versions" USING btree ("path","uploaded_at","id");--> statement-breakpoint
CREATE INDEX "versions_sha" ON "versions" USING btree ("sha256");--> statement-breakpoint
CREATE INDEX "versions_ns_sha" ON "versions" USING btree ("namespace","sha256");--> statement-breakpoint
CREATE INDEX "versions_ns_time" ON "versions" USING btree ("namespace","uploaded_at");--> statement-breakpoint
-- Existing data dirs: every file becomes its first version (hand-written, after the generated DDL).
INSERT INTO versions (path, namespace, sha256, size, mtime, uploaded_at) SELECT path, namespace, sha256, size, mtime, uploaded_at FROM files ORDER BY path;--> statement-breakpoint
UPDATE files SET version_id = (SELECT v.id FROM versions v WHERE v.path = files.path);
