CREATE TABLE `files` (
	`path` text PRIMARY KEY NOT NULL,
	`remote_path` text NOT NULL,
	`size` integer NOT NULL,
	`mtime_ms` real NOT NULL,
	`sha256` text NOT NULL,
	`via` text NOT NULL,
	`confirmed_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `meta` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `uploads` (
	`path` text PRIMARY KEY NOT NULL,
	`remote_path` text NOT NULL,
	`url` text NOT NULL,
	`size` integer NOT NULL,
	`mtime_ms` real NOT NULL,
	`sha256` text NOT NULL,
	`created_at` integer NOT NULL
);
