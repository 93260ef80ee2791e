/**
 * Names of zip entries when a file and a folder share a name (file `notes`, folder `notes/`): an
 * archive cannot hold both, since extracting it would need `notes` to be a file and a folder. The
 * folder keeps its name (its entries are paths below it); the file is renamed `notes (file)`, or
 * `report (file).txt` when it has an extension, and `(file 2)`, `(file 3)`, ... when that name is
 * taken too. The listing is not affected: it shows both.
 */

/** The n-th (1-based) alternative name of a file whose name is also a folder's. */
export function renamedFile(name: string, n: number): string {
  const tag = n === 1 ? ' (file)' : ` (file ${n})`;
  const dot = name.lastIndexOf('.');
  // A leading dot (".config") is a name, not an extension.
  return dot > 0 ? `${name.slice(0, dot)}${tag}${name.slice(dot)}` : `${name}${tag}`;
}

/**
 * The zip entry name (relative to the zipped folder) for the file at `path`: unchanged, unless a
 * folder of that name exists; then the first `renamedFile` that no file or folder uses.
 */
export async function zipEntryName(
  path: string,
  base: string,
  taken: { isFolder: (path: string) => Promise<boolean>; isFile: (path: string) => Promise<boolean> },
): Promise<string> {
  const rel = path.slice(base.length + 1);
  if (!(await taken.isFolder(path))) return rel;
  const slash = path.lastIndexOf('/');
  const parent = path.slice(0, slash);
  const name = path.slice(slash + 1);
  for (let n = 1; ; n++) {
    const candidate = `${parent}/${renamedFile(name, n)}`;
    if (!(await taken.isFile(candidate)) && !(await taken.isFolder(candidate))) return candidate.slice(base.length + 1);
  }
}
