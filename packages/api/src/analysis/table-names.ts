/**
 * The SQL table name of each file, as the design names them: lower case, extension dropped, each character
 * outside `[a-z0-9_]` one `_`, a leading digit prefixed with `t_`, and a clash numbered `_2`, `_3`... in the
 * order the files were created (so a name never changes while its file exists, unless an older file with the
 * same name is deleted).
 */
export function tableNames(
  files: { fileId: string; filename: string; createdAt: string }[],
): Map<string, string> {
  const byAge = [...files].sort((a, b) =>
    a.createdAt === b.createdAt ? a.fileId.localeCompare(b.fileId) : a.createdAt.localeCompare(b.createdAt),
  );
  const taken = new Set<string>();
  const names = new Map<string, string>();
  for (const file of byAge) {
    const base = baseTableName(file.filename);
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
    taken.add(name);
    names.set(file.fileId, name);
  }
  return names;
}

export function baseTableName(filename: string): string {
  const stem = filename.toLowerCase().replace(/\.[^.]*$/, '');
  // Array.from walks characters (code points), so an emoji is one `_`, not two.
  const name = Array.from(stem, (character) => (/^[a-z0-9_]$/.test(character) ? character : '_')).join('');
  if (name === '') return 't_';
  return /^[0-9]/.test(name) ? `t_${name}` : name;
}
