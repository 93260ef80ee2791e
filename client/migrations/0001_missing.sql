CREATE TABLE `missing` (
	`path` text PRIMARY KEY NOT NULL,
	`since` integer NOT NULL
);
