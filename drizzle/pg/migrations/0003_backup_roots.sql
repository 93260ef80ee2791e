CREATE TABLE "roots" (
	"path" text COLLATE "C" PRIMARY KEY NOT NULL,
	"namespace" text COLLATE "C" NOT NULL,
	"source_id" text NOT NULL,
	"host" text NOT NULL,
	"folder" text NOT NULL,
	"created_at" bigint NOT NULL,
	"claimed_at" bigint NOT NULL,
	"last_seen" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "roots_namespace" ON "roots" USING btree ("namespace","path");