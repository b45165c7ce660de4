import { createContext, useContext, type ReactNode } from "react";

/** The API's field messages keyed by recipe path ("rollout.n"), for the field that shows them. */
export const ErrorsContext = createContext<Map<string, string>>(new Map());

export function FieldError({ path }: { path: string }) {
  const errors = useContext(ErrorsContext);
  const msg = errors.get(path);
  if (!msg) return null;
  return (
    <span className="field-error" role="alert" data-testid={`error-${path}`}>
      {msg}
    </span>
  );
}

function hasError(errors: Map<string, string>, path: string) {
  return errors.has(path);
}

export function NumField({
  label,
  path,
  value,
  onChange,
  step,
  min,
  max,
  nullable = false,
  placeholder,
  help,
}: {
  label: string;
  path: string;
  value: number | null;
  onChange: (v: number | null) => void;
  step?: number | "any";
  min?: number;
  max?: number;
  /** Empty input means null ("unset"). */
  nullable?: boolean;
  placeholder?: string;
  help?: ReactNode;
}) {
  const errors = useContext(ErrorsContext);
  return (
    <label className={hasError(errors, path) ? "invalid" : undefined}>
      {label}
      <input
        type="number"
        step={step ?? "any"}
        min={min}
        max={max}
        value={value ?? ""}
        placeholder={placeholder ?? (nullable ? "unset" : undefined)}
        onChange={(e) => {
          const raw = e.target.value;
          if (raw === "") onChange(nullable ? null : (min ?? 0));
          else onChange(Number(raw));
        }}
        aria-invalid={hasError(errors, path) || undefined}
        data-testid={`field-${path}`}
      />
      {help && <span className="help">{help}</span>}
      <FieldError path={path} />
    </label>
  );
}

export function TextField({
  label,
  path,
  value,
  onChange,
  placeholder,
  help,
  required,
}: {
  label: string;
  path: string;
  value: string;
  onChange: (v: string) => void;
  placeholder?: string;
  help?: ReactNode;
  required?: boolean;
}) {
  const errors = useContext(ErrorsContext);
  return (
    <label className={hasError(errors, path) ? "invalid" : undefined}>
      {label}
      <input
        value={value}
        placeholder={placeholder}
        required={required}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={hasError(errors, path) || undefined}
        data-testid={`field-${path}`}
      />
      {help && <span className="help">{help}</span>}
      <FieldError path={path} />
    </label>
  );
}

export function SelectField<T extends string>({
  label,
  path,
  value,
  options,
  onChange,
  help,
}: {
  label: string;
  path: string;
  value: T;
  options: readonly (T | readonly [T, string])[];
  onChange: (v: T) => void;
  help?: ReactNode;
}) {
  const errors = useContext(ErrorsContext);
  return (
    <label className={hasError(errors, path) ? "invalid" : undefined}>
      {label}
      <select value={value} onChange={(e) => onChange(e.target.value as T)} data-testid={`field-${path}`}>
        {options.map((o) => {
          const [v, text] = typeof o === "string" ? [o, o] : o;
          return (
            <option key={v} value={v}>
              {text}
            </option>
          );
        })}
      </select>
      {help && <span className="help">{help}</span>}
      <FieldError path={path} />
    </label>
  );
}

export function Check({
  label,
  checked,
  onChange,
  testId,
  help,
}: {
  label: ReactNode;
  checked: boolean;
  onChange: (v: boolean) => void;
  testId: string;
  help?: ReactNode;
}) {
  return (
    <label className="check">
      <input type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} data-testid={testId} />
      <span>
        {label}
        {help && <span className="help"> {help}</span>}
      </span>
    </label>
  );
}
