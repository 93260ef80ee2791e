CREATE TABLE `blobs` (
	`sha256` text PRIMARY KEY NOT NULL,
	`size` integer NOT NULL,
	`state` text DEFAULT 'hot' NOT NULL,
	`codec` text,
	`stored_size` integer NOT NULL,
	`incompressible` integer DEFAULT false NOT NULL,
	`last_access` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `blobs_state_access` ON `blobs` (`state`,`last_access`);--> statement-breakpoint
CREATE TABLE `clients` (
	`name` text PRIMARY KEY NOT NULL,
	`token_id` text NOT NULL,
	`token_hash` text NOT NULL,
	`admin` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `clients_token_id_unique` ON `clients` (`token_id`);--> statement-breakpoint
CREATE TABLE `dirs` (
	`path` text PRIMARY KEY NOT NULL,
	`parent` text NOT NULL,
	`name` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `dirs_parent_name` ON `dirs` (`parent`,`name`);--> statement-breakpoint
CREATE TABLE `files` (
	`path` text PRIMARY KEY NOT NULL,
	`namespace` text NOT NULL,
	`dir` text NOT NULL,
	`name` text NOT NULL,
	`sha256` text NOT NULL,
	`size` integer NOT NULL,
	`mtime` integer,
	`uploaded_at` integer NOT NULL,
	FOREIGN KEY (`sha256`) REFERENCES `blobs`(`sha256`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `files_dir_name` ON `files` (`dir`,`name`);--> statement-breakpoint
CREATE INDEX `files_sha` ON `files` (`sha256`);--> statement-breakpoint
CREATE INDEX `files_ns_sha` ON `files` (`namespace`,`sha256`);--> statement-breakpoint
CREATE TABLE `uploads` (
	`id` text PRIMARY KEY NOT NULL,
	`owner` text NOT NULL,
	`path` text NOT NULL,
	`length` integer NOT NULL,
	`offset` integer DEFAULT 0 NOT NULL,
	`sha256` text,
	`mtime` integer,
	`metadata` text DEFAULT '' NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `uploads_expires` ON `uploads` (`expires_at`);