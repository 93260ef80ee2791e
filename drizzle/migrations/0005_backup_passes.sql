CREATE TABLE `passes` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`namespace` text NOT NULL,
	`root` text NOT NULL,
	`host` text DEFAULT '' NOT NULL,
	`folder` text DEFAULT '' NOT NULL,
	`started_at` integer NOT NULL,
	`ended_at` integer NOT NULL,
	`received_at` integer NOT NULL,
	`scanned` integer NOT NULL,
	`uploaded` integer NOT NULL,
	`failed` integer NOT NULL,
	`deleted` integer NOT NULL,
	`bytes` integer NOT NULL,
	`stopped` integer DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE INDEX `passes_ns_root` ON `passes` (`namespace`,`root`,`id`);--> statement-breakpoint
ALTER TABLE `clients` ADD `last_seen` integer;