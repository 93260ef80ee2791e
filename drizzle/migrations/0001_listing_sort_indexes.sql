CREATE INDEX `files_dir_size` ON `files` (`dir`,`size`,`name`);--> statement-breakpoint
CREATE INDEX `files_dir_mtime` ON `files` (`dir`,case when "mtime" is null then "uploaded_at" else "mtime" end,`name`);--> statement-breakpoint
CREATE INDEX `files_dir_uploaded` ON `files` (`dir`,`uploaded_at`,`name`);