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
 * - it never pushes `_id: {$in: [...]}` down, so a batch's read by IDs loads every row, nor a range
 *   (`_id: {$gt: last}`), so every cursor page scanned the `_id` index from its first row;
 * - it sorts by `_id` in memory after loading every matching row, so the first page of a report
 *   (`find({communicationId}).sort({_id: 1}).limit(n)`) loads the whole communication. With the
 *   SQLite backend, `_id` order now comes from the `_id` index and the read stops after `n` matches.
 *   That index orders the `_id`s' JSON text: MongoDB's order for string IDs without escapes or
 *   characters below `#`, which holds for every ID this system makes.
 * The handler still applies the whole filter to what the backend returns, so results do not change.
 * - an update command kept every statement's rows open until its end, so a bulk of 100 updates
 *   deadlocked the database (each statement's rows are now closed when it is done).
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
  await edit(
    'internal/handler/msg_find.go',
    '\tcase params.Sort.Len() == 1:\n\t\tif params.Sort.Keys()[0] != "$natural" {',
    [
      '\tcase backends.IDSortPushdown && params.Sort.Len() == 1 && params.Sort.Keys()[0] == "_id":',
      '\t\t// The backend returns _id order (added by Delivery Reporting); nothing is sorted in memory.',
      '\t\tqp.Sort = params.Sort',
      '\t\tparams.Sort = must.NotFail(types.NewDocument())',
      '\tcase params.Sort.Len() == 1:',
      '\t\tif params.Sort.Keys()[0] != "$natural" {',
    ].join('\n'),
    1,
  );
  await edit(
    'internal/backends/sqlite/query.go',
    '\tv := must.NotFail(sort.Get("$natural"))',
    [
      '\tif sort.Keys()[0] == "_id" {',
      '\t\tif must.NotFail(sort.Get("_id")).(int64) == -1 {',
      '\t\t\treturn fmt.Sprintf(" ORDER BY %s DESC", metadata.IDColumn)',
      '\t\t}',
      '',
      '\t\treturn fmt.Sprintf(" ORDER BY %s", metadata.IDColumn)',
      '\t}',
      '',
      '\tv := must.NotFail(sort.Get("$natural"))',
    ].join('\n'),
    1,
  );
  // An update command's statements each open a query whose rows (and SQLite connection) stayed open
  // until the whole command ended (a `defer` inside the statements' loop), while each statement's
  // write takes one more connection: a bulk of 100 updates exhausted the database's pool of 100 and
  // deadlocked it for every client. Each statement now closes its rows when it is done.
  await edit(
    'internal/handler/msg_update.go',
    '\t\tcloser := iterator.NewMultiCloser()\n\t\tdefer closer.Close()\n',
    '\t\tcloser := iterator.NewMultiCloser()\n',
    1,
  );
  await edit(
    'internal/handler/msg_update.go',
    '\t\tresult, err := common.UpdateDocument(ctx, c, "update", iter, &u)\n',
    '\t\tresult, err := common.UpdateDocument(ctx, c, "update", iter, &u)\n\t\tcloser.Close() // this statement\'s rows, before the next one opens its own (added by Delivery Reporting)\n',
    1,
  );
  // buildInfo names this build, so a service can size its bulks for it (storeProfile).
  await edit(
    'internal/handler/msg_buildinfo.go',
    '\t\t\t"ferretdbVersion", version.Get().Version,\n',
    '\t\t\t"ferretdbVersion", version.Get().Version,\n\t\t\t"deliveryReportingPatch", "update-rows", // added by Delivery Reporting\n',
    1,
  );
  // The backends' contract checks allow `_id` beside `$natural` as the one sort key.
  await edit(
    'internal/backends/collection.go',
    'params.Sort.Map()["$natural"].(int64)',
    'params.Sort.Map()[params.Sort.Keys()[0]].(int64)',
    2,
  );
  await edit(
    'internal/backends/sqlite/backend.go',
    'func NewBackend(params *NewBackendParams) (backends.Backend, error) {\n',
    'func NewBackend(params *NewBackendParams) (backends.Backend, error) {\n\tbackends.IDSortPushdown = true\n\n',
    1,
  );
  await fsp.appendFile(
    path.join(src, 'internal/backends/backends.go'),
    [
      '',
      '// IDSortPushdown is true when the backend in use returns `_id` order itself (added by Delivery Reporting).',
      'var IDSortPushdown bool',
      '',
    ].join('\n'),
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
      '// idInClause is the WHERE clause of `{$in: [...]}` over strings and ObjectIDs, or of a range over',
      '// strings (idRangeClause); "" for any other condition, which then loads every row as before (added',
      '// by Delivery Reporting).',
      'func idInClause(cond *types.Document) (string, []any) {',
      '\tif cond.Len() != 1 {',
      '\t\treturn idRangeClause(cond)',
      '\t}',
      '',
      '\tv, err := cond.Get("$in")',
      '\tif err != nil {',
      '\t\treturn idRangeClause(cond)',
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
      '// idRangeClause is the WHERE clause of `{$gt|$gte|$lt|$lte: <string>}` (one or two bounds), so a',
      '// cursor page (`_id: {$gt: last}`) starts at its place in the `_id` index instead of the first row;',
      '// "" for any other condition (added by Delivery Reporting). Rows of other types that the text',
      '// comparison lets through are dropped by the handler, which applies the whole filter.',
      'func idRangeClause(cond *types.Document) (string, []any) {',
      '\tops := map[string]string{"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}',
      '\tvar parts []string',
      '\tvar args []any',
      '\tfor _, k := range cond.Keys() {',
      '\t\top, ok := ops[k]',
      '\t\tif !ok {',
      '\t\t\treturn "", nil',
      '\t\t}',
      '',
      '\t\ts, ok := must.NotFail(cond.Get(k)).(string)',
      '\t\tif !ok {',
      '\t\t\treturn "", nil',
      '\t\t}',
      '',
      '\t\tparts = append(parts, fmt.Sprintf("%s %s ?", metadata.IDColumn, op))',
      '\t\targs = append(args, string(must.NotFail(sjson.MarshalSingleValue(s))))',
      '\t}',
      '',
      '\tif len(parts) == 0 {',
      '\t\treturn "", nil',
      '\t}',
      '',
      '\treturn " WHERE " + strings.Join(parts, " AND "), args',
      '}',
      '',
    ].join('\n'),
  );
}
