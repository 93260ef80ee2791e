CREATE TABLE `roots` (
	`path` text PRIMARY KEY NOT NULL,
	`namespace` text NOT NULL,
	`source_id` text NOT NULL,
	`host` text NOT NULL,
	`folder` text NOT NULL,
	`created_at` integer NOT NULL,
	`claimed_at` integer NOT NULL,
	`last_seen` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `roots_namespace` ON `roots` (`namespace`,`path`);