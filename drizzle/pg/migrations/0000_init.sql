CREATE TABLE "blobs" (
	"sha256" text COLLATE "C" PRIMARY KEY NOT NULL,
	"size" bigint NOT NULL,
	"state" text DEFAULT 'hot' NOT NULL,
	"codec" text,
	"stored_size" bigint NOT NULL,
	"incompressible" boolean DEFAULT false NOT NULL,
	"last_access" bigint NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "clients" (
	"name" text COLLATE "C" PRIMARY KEY NOT NULL,
	"token_id" text NOT NULL,
	"token_hash" text NOT NULL,
	"admin" boolean DEFAULT false NOT NULL,
	"created_at" bigint NOT NULL,
	"revoked_at" bigint,
	CONSTRAINT "clients_token_id_unique" UNIQUE("token_id")
);
--> statement-breakpoint
CREATE TABLE "dirs" (
	"path" text COLLATE "C" PRIMARY KEY NOT NULL,
	"parent" text COLLATE "C" NOT NULL,
	"name" text COLLATE "C" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "files" (
	"path" text COLLATE "C" PRIMARY KEY NOT NULL,
	"namespace" text COLLATE "C" NOT NULL,
	"dir" text COLLATE "C" NOT NULL,
	"name" text COLLATE "C" NOT NULL,
	"sha256" text COLLATE "C" NOT NULL,
	"size" bigint NOT NULL,
	"mtime" bigint,
	"uploaded_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "uploads" (
	"id" text PRIMARY KEY NOT NULL,
	"owner" text COLLATE "C" NOT NULL,
	"path" text COLLATE "C" NOT NULL,
	"length" bigint NOT NULL,
	"offset" bigint DEFAULT 0 NOT NULL,
	"sha256" text,
	"mtime" bigint,
	"metadata" text DEFAULT '' NOT NULL,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "files" ADD CONSTRAINT "files_sha256_blobs_sha256_fk" FOREIGN KEY ("sha256") REFERENCES "public"."blobs"("sha256") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "blobs_state_access" ON "blobs" USING btree ("state","last_access");--> statement-breakpoint
CREATE INDEX "dirs_parent_name" ON "dirs" USING btree ("parent","name");--> statement-breakpoint
CREATE INDEX "files_dir_name" ON "files" USING btree ("dir","name");--> statement-breakpoint
CREATE INDEX "files_sha" ON "files" USING btree ("sha256");--> statement-breakpoint
CREATE INDEX "files_ns_sha" ON "files" USING btree ("namespace","sha256");--> statement-breakpoint
CREATE INDEX "uploads_expires" ON "uploads" USING btree ("expires_at");