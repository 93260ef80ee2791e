CREATE TABLE `prune_holds` (
	`namespace` text PRIMARY KEY NOT NULL,
	`held_since` integer,
	`reason` text DEFAULT '' NOT NULL,
	`resumed_at` integer
);
--> statement-breakpoint
CREATE TABLE `trash` (
	`path` text PRIMARY KEY NOT NULL,
	`namespace` text NOT NULL,
	`version_id` integer NOT NULL,
	`last_version_id` integer NOT NULL,
	`deleted_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `versions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`path` text NOT NULL,
	`namespace` text NOT NULL,
	`sha256` text,
	`size` integer NOT NULL,
	`mtime` integer,
	`uploaded_at` integer NOT NULL,
	FOREIGN KEY (`sha256`) REFERENCES `blobs`(`sha256`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `versions_path_time` ON `versions` (`path`,`uploaded_at`,`id`);--> statement-breakpoint
CREATE INDEX `versions_sha` ON `versions` (`sha256`);--> statement-breakpoint
CREATE INDEX `versions_ns_sha` ON `versions` (`namespace`,`sha256`);--> statement-breakpoint
CREATE INDEX `versions_ns_time` ON `versions` (`namespace`,`uploaded_at`);--> statement-breakpoint
ALTER TABLE `files` ADD `version_id` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Existing data dirs: every file becomes its first version (hand-written, after the generated DDL).
INSERT INTO versions (path, namespace, sha256, size, mtime, uploaded_at) SELECT path, namespace, sha256, size, mtime, uploaded_at FROM files ORDER BY path;--> statement-breakpoint
UPDATE files SET version_id = (SELECT v.id FROM versions v WHERE v.path = files.path);
