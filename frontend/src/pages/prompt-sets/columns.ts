/**
 * The upload's column mapping: the columns and first rows of a file, read in the browser before it is
 * sent, and which column the import would take for each role. JSONL and CSV are read (gzip-compressed
 * too, through DecompressionStream); Parquet and archives are not, and the server recognises their
 * columns itself.
 */

export const ROLES = ["prompt", "tests", "reference", "entry_point", "id"] as const;
export type Role = (typeof ROLES)[number];
/** A column per role; "" means none. */
export type Mapping = Record<Role, string>;

export interface Peek {
  format: "jsonl" | "csv";
  columns: string[];
  rows: Record<string, unknown>[];
}

const HEAD_BYTES = 256 * 1024; // read (decompressed) from the start of the file
const MAX_ROWS = 20;

// The usual names, as the import looks for them (backend/prompts/importer.py): keep the two in step.
const PROMPT_KEYS = ["prompt", "question", "problem", "instruction", "input", "messages"];
const REFERENCE_KEYS = ["answer", "solution", "reference", "output", "response"];
const ENTRY_POINT_KEYS = ["entry_point"];
const ID_KEYS = ["id", "task_id"];

/** What the import picks by itself for the given columns: the mapping step starts from it. */
export function suggestMapping(columns: string[]): Mapping {
  const has = new Set(columns);
  const first = (keys: string[]) => keys.find((k) => has.has(k)) ?? "";
  return {
    prompt: first(PROMPT_KEYS),
    reference: first(REFERENCE_KEYS),
    // HumanEval's `test` only beside `entry_point`: a bare `test` column may mean anything
    tests: has.has("tests") ? "tests" : has.has("test") && has.has("entry_point") ? "test" : "",
    entry_point: first(ENTRY_POINT_KEYS),
    id: first(ID_KEYS),
  };
}

/**
 * The form field `mapping` for a choice: only the roles that differ from what the import would pick
 * itself (so a file whose rows mix layouts, GSM8K beside MATH, is still read row by row), "" for a
 * role chosen to be none. null when nothing differs.
 */
export function mappingField(chosen: Mapping, suggested: Mapping): Record<string, string> | null {
  const out: Record<string, string> = {};
  for (const role of ROLES) if (chosen[role] !== suggested[role]) out[role] = chosen[role];
  return Object.keys(out).length ? out : null;
}

/** A file's name without .gz and its format extension: the default name of the prompt set. */
export function baseName(filename: string): string {
  return filename.replace(/\.(gz|gzip)$/i, "").replace(/\.(jsonl|ndjson|json|csv|parquet|zip|tar|tgz)$/i, "").replace(/\.tar$/i, "");
}

function readBytes(blob: Blob): Promise<Uint8Array> {
  // FileReader rather than blob.arrayBuffer(): every browser, and jsdom in the tests
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(new Uint8Array(reader.result as ArrayBuffer));
    reader.onerror = () => reject(reader.error ?? new Error("could not read the file"));
    reader.readAsArrayBuffer(blob);
  });
}

/** Up to `limit` bytes of the decompressed start of gzip data (the data may be cut: what came out counts). */
async function gunzipHead(data: Uint8Array, limit: number): Promise<{ bytes: Uint8Array; cut: boolean }> {
  if (typeof DecompressionStream === "undefined") throw new Error("this browser cannot read gzip");
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(data);
      c.close();
    },
  }).pipeThrough(new DecompressionStream("gzip") as unknown as ReadableWritablePair<Uint8Array, Uint8Array>);
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  let cut = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      size += value.length;
      if (size >= limit) {
        cut = true;
        break;
      }
    }
  } catch {
    cut = true; // only the start of the file was read, so the stream ends early
  }
  void reader.cancel().catch(() => undefined);
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return { bytes, cut };
}

function jsonlRows(text: string, cut: boolean): Record<string, unknown>[] {
  const lines = text.split("\n");
  if (cut) lines.pop(); // the last line may be cut short
  const rows: Record<string, unknown>[] = [];
  for (const line of lines) {
    if (rows.length >= MAX_ROWS) break;
    if (!line.trim()) continue;
    try {
      const v: unknown = JSON.parse(line);
      if (v && typeof v === "object" && !Array.isArray(v)) rows.push(v as Record<string, unknown>);
    } catch {
      // a bad line is the import's to report, with its line number
    }
  }
  return rows;
}

/** CSV records (RFC 4180: quoted fields, "" inside quotes, newlines inside quotes). */
export function csvRecords(text: string, cut: boolean, max = MAX_ROWS + 1): string[][] {
  const records: string[][] = [];
  let field = "";
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length && records.length < max; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      record.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      record.push(field);
      records.push(record);
      record = [];
      field = "";
    } else field += ch;
  }
  if (!cut && records.length < max && (field || record.length)) records.push([...record, field]);
  return records;
}

function csvRows(text: string, cut: boolean): { columns: string[]; rows: Record<string, unknown>[] } {
  const [header = [], ...records] = csvRecords(text.replace(/^\uFEFF/, ""), cut);
  const rows = records
    .filter((r) => r.length === header.length)
    .map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
  return { columns: header, rows };
}

/** The columns and first rows of a JSONL or CSV file (gzip or not); null for formats not read here. */
export async function peekFile(file: File): Promise<Peek | null> {
  const name = file.name.toLowerCase().replace(/\.(gz|gzip)$/, "");
  const format = /\.(jsonl|ndjson|json)$/.test(name) ? "jsonl" : name.endsWith(".csv") ? "csv" : null;
  if (!format) return null;
  let bytes = await readBytes(file.slice(0, HEAD_BYTES));
  let cut = file.size > HEAD_BYTES;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    // compressed: the bytes decide, as on the server; more of it is read, as it inflates
    const more = await readBytes(file.slice(0, HEAD_BYTES * 4));
    ({ bytes, cut } = await gunzipHead(more, HEAD_BYTES));
    cut = cut || file.size > HEAD_BYTES * 4;
  }
  const text = new TextDecoder("utf-8").decode(bytes);
  if (format === "csv") return { format, ...csvRows(text, cut) };
  const rows = jsonlRows(text.replace(/^\uFEFF/, ""), cut);
  const columns: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!columns.includes(k)) columns.push(k);
  return { format, columns, rows };
}
