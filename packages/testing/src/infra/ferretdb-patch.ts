// The change the harness makes to FerretDB v1's source before building it.
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

/**
 * FerretDB v1's SQLite backend scans the whole table for every `_id` lookup, which makes a collection of
 * a few thousand documents cost tens of milliseconds per read or update (docs/decisions.md,
 * "FerretDB v1 (SQLite) as the local store"). Two causes, both fixed here in the source we build:
 * - its `_id` expression (`->'$._id'`) is not the one its unique `_id` index is built on (`->"_id"`),
 *   so SQLite never uses the index;
 * - it pushes `_id` down only when `_id` is the filter's only key, so `{_id, state}` loads every row;
 * - it never pushes `_id: {$in: [...]}` down, so a batch's read by IDs loads every row.
 * The handler still applies the whole filter to what the backend returns, so results do not change.
 * Each text to replace must occur exactly as often as expected: a different source fails the build
 * instead of running unpatched.
 */
export async function patchFerretIdLookups(src: string): Promise<void> {
  const edit = async (file: string, from: string, to: string, times: number) => {
    const at = path.join(src, file);
    const text = await fsp.readFile(at, 'utf8');
    const found = text.split(from).length - 1;
    if (found !== times) throw new Error(`FerretDB patch: expected ${times}× \`${from}\` in ${file}, found ${found}`);
    await fsp.writeFile(at, text.replaceAll(from, to));
  };
  await edit(
    'internal/backends/sqlite/metadata/metadata.go',
    `IDColumn = DefaultColumn + "->'$._id'"`,
    `IDColumn = DefaultColumn + "->\\"_id\\""`,
    1,
  );
  await edit(
    'internal/backends/sqlite/collection.go',
    'if params.Filter.Len() == 1 {',
    'if hasOneID(params.Filter) {',
    2,
  );
  // Only in Query (Explain's copy of the switch sets filterPushdown first and is left as it is).
  await edit(
    'internal/backends/sqlite/collection.go',
    '\t\tcase string, types.ObjectID:\n\t\t\twhereClause',
    '\t\tcase *types.Document:\n\t\t\twhereClause, args = idInClause(v.(*types.Document))\n\t\tcase string, types.ObjectID:\n\t\t\twhereClause',
    1,
  );
  const collection = path.join(src, 'internal/backends/sqlite/collection.go');
  await fsp.appendFile(
    collection,
    [
      '',
      '// hasOneID reports whether the filter has exactly one top-level _id key (added by Delivery Reporting).',
      'func hasOneID(filter *types.Document) bool {',
      '\tn := 0',
      '\tfor _, k := range filter.Keys() {',
      '\t\tif k == "_id" {',
      '\t\t\tn++',
      '\t\t}',
      '\t}',
      '',
      '\treturn n == 1',
      '}',
      '',
      '// idInClause is the WHERE clause of `{$in: [...]}` over strings and ObjectIDs; "" for any other',
      '// condition, which then loads every row as before (added by Delivery Reporting).',
      'func idInClause(cond *types.Document) (string, []any) {',
      '\tif cond.Len() != 1 {',
      '\t\treturn "", nil',
      '\t}',
      '',
      '\tv, err := cond.Get("$in")',
      '\tif err != nil {',
      '\t\treturn "", nil',
      '\t}',
      '',
      '\tarr, ok := v.(*types.Array)',
      '\tif !ok || arr.Len() == 0 || arr.Len() > 10000 {',
      '\t\treturn "", nil',
      '\t}',
      '',
      '\targs := make([]any, 0, arr.Len())',
      '\tfor i := 0; i < arr.Len(); i++ {',
      '\t\te := must.NotFail(arr.Get(i))',
      '\t\tswitch e.(type) {',
      '\t\tcase string, types.ObjectID:',
      '\t\t\targs = append(args, string(must.NotFail(sjson.MarshalSingleValue(e))))',
      '\t\tdefault:',
      '\t\t\treturn "", nil',
      '\t\t}',
      '\t}',
      '',
      '\treturn fmt.Sprintf(` WHERE %s IN (?%s)`, metadata.IDColumn, strings.Repeat(", ?", len(args)-1)), args',
      '}',
      '',
    ].join('\n'),
  );
}
