CREATE INDEX "files_dir_size" ON "files" USING btree ("dir","size","name");--> statement-breakpoint
CREATE INDEX "files_dir_mtime" ON "files" USING btree ("dir",(case when "mtime" is null then "uploaded_at" else "mtime" end),"name");--> statement-breakpoint
CREATE INDEX "files_dir_uploaded" ON "files" USING btree ("dir","uploaded_at","name");