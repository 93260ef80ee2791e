ALTER TABLE `clients` ADD `quota_bytes` integer;--> statement-breakpoint
ALTER TABLE `clients` ADD `used_bytes` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Existing catalogs: what each namespace holds so far (hand-written, after the generated DDL).
UPDATE `clients` SET `used_bytes` = (SELECT coalesce(sum(v.size), 0) FROM versions v WHERE v.namespace = clients.name);